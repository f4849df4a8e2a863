import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// Every static file of the dashboard, loaded in this one module: the page, its script and style
// (src/dashboard/) and uPlot's dist files (npm, pinned). The self-contained build
// (scripts/build-node.ts) inlines the same files as BANDMINT_ASSETS; nothing else touches them.

/** One static file, ready to serve: its bytes, gzipped bytes, type and strong ETag. */
export type DashboardAsset = { body: Buffer; gzip: Buffer; contentType: string; etag: string };

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** The dashboard's files: URL path (`/` is the page, the rest under `/assets/`) and where the file is on disk. */
export function dashboardFiles(): { path: string; file: string }[] {
  const here = (name: string) => new URL(`./${name}`, import.meta.url).pathname;
  const npm = createRequire(import.meta.url);
  return [
    { path: "/", file: here("index.html") },
    { path: "/assets/dashboard.js", file: here("dashboard.js") },
    { path: "/assets/dashboard.css", file: here("dashboard.css") },
    { path: "/assets/uPlot.iife.min.js", file: npm.resolve("uplot/dist/uPlot.iife.min.js") },
    { path: "/assets/uPlot.min.css", file: npm.resolve("uplot/dist/uPlot.min.css") },
  ];
}

/** The dashboard's files by URL path, from the build (inlined) or from disk (the source tree). */
export function loadDashboardAssets(): Map<string, DashboardAsset> {
  const sources: [string, Buffer][] =
    typeof BANDMINT_ASSETS !== "undefined"
      ? Object.entries(BANDMINT_ASSETS).map(([path, base64]) => [path, Buffer.from(base64, "base64")])
      : dashboardFiles().map(({ path, file }) => [path, readFileSync(file)]);
  // node:zlib (about 1 MB of RSS) only here, when the first asset is asked for: an idle node has none.
  const { gzipSync } = createRequire(import.meta.url)("node:zlib") as typeof import("node:zlib");
  const assets = new Map<string, DashboardAsset>();
  for (const [path, body] of sources) {
    const ext = path === "/" ? "html" : path.slice(path.lastIndexOf(".") + 1);
    assets.set(path, {
      body,
      // Compressed once (the node builds these on the first request for one): a router serves ~30 KB instead of ~70 KB per first load.
      gzip: gzipSync(body, { level: 9 }),
      contentType: TYPES[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
    });
  }
  return assets;
}
