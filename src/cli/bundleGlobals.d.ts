// What scripts/build-node.ts provides to the self-contained build, dist/bandmint.mjs (src/cli/bundle.ts).

/** True in dist/bandmint.mjs (an esbuild define), undeclared in the source tree: test with `typeof`. */
declare const BANDMINT_BUNDLE: boolean | undefined;

/** The command table compiled into the build. */
declare module "bandmint:commands" {
  const commands: import("./main.ts").CommandSource;
  export default commands;
}
