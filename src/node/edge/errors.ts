import { BaseError } from "../../protocol/errors.ts";

/** No configured origin knows this content id (every origin answered 404). */
export class ContentNotFoundError extends BaseError {
  override name = "ContentNotFoundError";
  static override readonly stackless = true;
  contentId: string;
  constructor({ contentId }: { contentId: string }) {
    super(`Content ${contentId} is not known to any origin.`);
    this.contentId = contentId;
  }
}

/** The manifest of the content has no file at this path. */
export class FileNotFoundError extends BaseError {
  override name = "FileNotFoundError";
  static override readonly stackless = true;
  contentId: string;
  path: string;
  constructor({ contentId, path }: { contentId: string; path: string }) {
    super(`Content ${contentId} has no file "${path}".`);
    this.contentId = contentId;
    this.path = path;
  }
}

/** The request URL is not one of the edge's routes, or is malformed. */
export class RouteNotFoundError extends BaseError {
  override name = "RouteNotFoundError";
  static override readonly stackless = true;
  url: string;
  constructor({ url, reason }: { url: string; reason?: string }) {
    super(`No such resource: ${url}${reason ? ` (${reason})` : ""}.`, {
      details: "Routes: /c/<contentId>/manifest.json and /c/<contentId>/<path>, contentId = 64 lowercase hex chars.",
    });
    this.url = url;
  }
}

/** The method is not GET, HEAD or OPTIONS. */
export class MethodNotAllowedError extends BaseError {
  override name = "MethodNotAllowedError";
  static override readonly stackless = true;
  method: string;
  constructor({ method }: { method: string }) {
    super(`Method ${method} is not allowed; use GET or HEAD.`);
    this.method = method;
  }
}

/**
 * No origin delivered valid data: unreachable, an error status, or bytes that fail verification
 * (wrong hash, wrong length, a manifest whose root or signature is wrong). `failures` says which
 * origin failed how; nothing an origin sent was cached or served.
 */
export class OriginFailedError extends BaseError {
  override name = "OriginFailedError";
  what: string;
  failures: { origin: string; reason: string }[];
  constructor({ what, failures }: { what: string; failures: { origin: string; reason: string }[] }) {
    super(`No origin delivered valid data for ${what}.`, {
      details: failures.map((f) => `${f.origin}: ${f.reason}`).join("; ") || "no origins configured",
    });
    this.what = what;
    this.failures = failures;
  }
}
