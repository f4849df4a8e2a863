import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";

// Offline by design: the compiler comes from the pinned npm `solc` package, never a download.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;
const solcPath: string = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatViem],
  solidity: {
    profiles: {
      default: {
        version: solcVersion,
        path: solcPath,
        settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "osaka", viaIR: false },
      },
    },
  },
  paths: { sources: "contracts", tests: { solidity: "contracts/test" } },
  test: { solidity: { fsPermissions: { readDirectory: ["./test/vectors"] }, fuzz: { runs: Number(process.env.FUZZ_RUNS ?? 256) }, invariant: { runs: Number(process.env.INVARIANT_RUNS ?? 64), depth: Number(process.env.INVARIANT_DEPTH ?? 32) } } },
  networks: {
    // Embedded EDR chain, also what `hardhat node` serves on 127.0.0.1.
    default: { type: "edr-simulated", chainType: "l1", hardfork: "osaka", allowUnlimitedContractSize: false },
  },
});
