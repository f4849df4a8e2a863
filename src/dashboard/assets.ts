import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";

// Every static file of the dashboard, loaded in this one module: the page, its script and style
// (src/dashboard/) and uPlot's dist files (npm, pinned). A bundling step that makes a single-file
// node (issue 11) replaces the reads below with inlined strings; nothing else touches the files.

/** One static file, ready to serve: its bytes, gzipped bytes, type and strong ETag. */
export type DashboardAsset = { body: Buffer; gzip: Buffer; contentType: string; etag: string };

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** The dashboard's files by URL path (`/` is the page, the rest under `/assets/`). */
export function loadDashboardAssets(): Map<string, DashboardAsset> {
  const uplot = createRequire(import.meta.url);
  const files: [string, string][] = [
    ["/", new URL("./index.html", import.meta.url).pathname],
    ["/assets/dashboard.js", new URL("./dashboard.js", import.meta.url).pathname],
    ["/assets/dashboard.css", new URL("./dashboard.css", import.meta.url).pathname],
    ["/assets/uPlot.iife.min.js", uplot.resolve("uplot/dist/uPlot.iife.min.js")],
    ["/assets/uPlot.min.css", uplot.resolve("uplot/dist/uPlot.min.css")],
  ];
  const assets = new Map<string, DashboardAsset>();
  for (const [path, file] of files) {
    const body = readFileSync(file);
    const ext = file.slice(file.lastIndexOf(".") + 1);
    assets.set(path, {
      body,
      // Compressed once at start: a router serves ~30 KB instead of ~80 KB per first load.
      gzip: gzipSync(body, { level: 9 }),
      contentType: TYPES[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
    });
  }
  return assets;
}
