import { BaseError } from "../protocol/errors.ts";

/** A deployment file is missing, unreadable or malformed. */
export class DeploymentFileError extends BaseError {
  override name = "DeploymentFileError";
  readonly path: string;
  constructor(path: string, reason: string, options: { cause?: unknown } = {}) {
    super(`Deployment file ${path}: ${reason}`, {
      cause: options.cause,
      details: "Deploy with 'bandmint deploy' (or run 'npm start' for a local network) and pass its deployment file with --deployment.",
    });
    this.path = path;
  }
}

/** A compiled contract artifact is not on disk (contracts not built). */
export class ArtifactNotFoundError extends BaseError {
  override name = "ArtifactNotFoundError";
  readonly contractName: string;
  constructor(contractName: string, path: string) {
    super(`No compiled artifact for ${contractName} at ${path}`, {
      details: "Compile the contracts first: npm run build:contracts",
    });
    this.contractName = contractName;
  }
}

/** The chain at an RPC URL cannot be reached or answered unexpectedly. */
export class ChainUnavailableError extends BaseError {
  override name = "ChainUnavailableError";
  readonly rpcUrl: string;
  constructor(rpcUrl: string, options: { cause?: unknown } = {}) {
    super(`Cannot reach the chain at ${rpcUrl}`, {
      cause: options.cause,
      details: "Is the node running? For a local network run 'npm start'.",
    });
    this.rpcUrl = rpcUrl;
  }
}
