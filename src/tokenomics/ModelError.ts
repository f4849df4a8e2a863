import { BaseError } from "../protocol/errors.ts";

/**
 * A tokenomics model file is unreadable or invalid. `field` is the dotted path of the bad value
 * (e.g. `emission.decayBps`) and `file` the model's path, so the CLI can print
 * `models/x.yaml: emission.decayBps: must be <= 10000` without a stack trace.
 */
export class ModelError extends BaseError {
  override name = "ModelError";
  file: string;
  field: string | undefined;
  reason: string;
  constructor({ file, field, reason, cause }: { file: string; field?: string; reason: string; cause?: unknown }) {
    super(`${file}: ${field === undefined || field === "" ? "" : `${field}: `}${reason}`, { cause });
    this.file = file;
    this.field = field;
    this.reason = reason;
  }
}
