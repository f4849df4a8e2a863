// What scripts/build-node.ts provides to the self-contained build, dist/bandmint.mjs (src/cli/bundle.ts).

/** True in dist/bandmint.mjs (an esbuild define), undeclared in the source tree: test with `typeof`. */
declare const BANDMINT_BUNDLE: boolean | undefined;

/** In dist/bandmint.mjs: each worker thread module compiled to a script of its own, by file name. */
declare const BANDMINT_THREADS: Record<string, string> | undefined;

/** The command table compiled into the build. */
declare module "bandmint:commands" {
  const commands: import("./main.ts").CommandSource;
  export default commands;
}
