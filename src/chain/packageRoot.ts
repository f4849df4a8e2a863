import { fileURLToPath } from "node:url";

/** Absolute path of the bandmint package root (where hardhat.config.ts and artifacts/ live). */
export const packageRoot: string = fileURLToPath(new URL("../../", import.meta.url));
