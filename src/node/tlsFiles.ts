import { readFile, stat } from "node:fs/promises";
import type { Server as HttpsServer } from "node:https";

/** Paths of the PEM certificate (chain) and private key of the node's https listener. */
export type TlsFiles = { cert: string; key: string };

/** Reads the certificate and key files, as `https.createServer` takes them. */
export async function readTlsFiles(tls: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
  return { cert, key };
}

/**
 * Reloads the certificate into a running server when either file changes (checked every
 * `intervalMs`), so a renewed certificate (e.g. Let's Encrypt every 60-90 days) takes effect
 * without a restart. A failed reload keeps the old certificate and says so. Returns a stop function.
 */
export function watchTlsFiles(server: HttpsServer, tls: TlsFiles, options: { intervalMs?: number; log?: (line: string) => void } = {}): () => void {
  const mtimes = async () => (await Promise.all([stat(tls.cert), stat(tls.key)])).map((s) => s.mtimeMs).join(",");
  let last: Promise<string | undefined> = mtimes().catch(() => undefined);
  const timer = setInterval(() => {
    last = last.then(async (before) => {
      try {
        const now = await mtimes();
        if (now === before) return before;
        server.setSecureContext(await readTlsFiles(tls));
        options.log?.(`node: reloaded the TLS certificate ${tls.cert}`);
        return now;
      } catch (error) {
        options.log?.(`node: cannot reload the TLS certificate (${(error as Error).message}); keeping the old one`);
        return before;
      }
    });
  }, options.intervalMs ?? 600_000);
  timer.unref();
  return () => clearInterval(timer);
}
