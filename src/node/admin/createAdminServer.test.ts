import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { loadDashboardAssets } from "../../dashboard/assets.ts";
import { NothingToClaimError } from "../operator/rewardActions.ts";
import { createAdminServer, type AdminRoutes } from "./createAdminServer.ts";
import { isLoopbackHost, resolveAdminToken, tokenMatches } from "./adminToken.ts";

/** A raw request (fetch cannot set Host or Origin freely). */
function call(url: string, o: { method?: string; path: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${o.path}`, { method: o.method ?? "GET", headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(o.method === "POST" ? "{}" : undefined);
  });
}

async function withServer(token: string | undefined, fn: (url: string, calls: string[]) => Promise<void>, claim?: AdminRoutes["claim"]) {
  const calls: string[] = [];
  const server = createAdminServer({
    host: "127.0.0.1", port: 0, token, assets: loadDashboardAssets(),
    routes: {
      report: async () => ({ summary: { netTotal: 5n } }),
      earnings: async (range) => ({ range }),
      claim: claim ?? (async () => (calls.push("claim"), { txHash: "0x1" })),
      withdraw: async () => (calls.push("withdraw"), { amount: 1n }),
      metrics: async () => ({ body: "bandmint_available 1\n", contentType: "text/plain; version=0.0.4; charset=utf-8" }),
    },
  });
  const url = await server.start();
  try {
    await fn(url, calls);
  } finally {
    await server.stop();
  }
}

test("with a token: the page loads without it, the API and metrics only with it", async () => {
  await withServer("s3cret-token-0123456789", async (url) => {
    const page = await call(url, { path: "/", headers: { "accept-encoding": "gzip" } });
    assert.equal(page.status, 200);
    assert.equal(page.headers["content-encoding"], "gzip");
    assert.match(gunzipSync(page.body).toString(), /<title>bandmint node<\/title>/);
    assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
    assert.equal((await call(url, { path: "/assets/uPlot.iife.min.js" })).status, 200);
    assert.equal((await call(url, { path: "/api/report" })).status, 401);
    assert.equal((await call(url, { path: "/api/report", headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await call(url, { path: "/metrics" })).status, 401);
    const ok = await call(url, { path: "/api/report", headers: { authorization: "Bearer s3cret-token-0123456789" } });
    assert.deepEqual([ok.status, JSON.parse(ok.body.toString())], [200, { summary: { netTotal: "5" } }]);
    const m = await call(url, { path: "/metrics", headers: { authorization: "Bearer s3cret-token-0123456789" } });
    assert.deepEqual([m.status, m.body.toString()], [200, "bandmint_available 1\n"]);
    const range = await call(url, { path: "/api/earnings?from=10&to=20", headers: { authorization: "Bearer s3cret-token-0123456789" } });
    assert.deepEqual(JSON.parse(range.body.toString()), { range: { from: 10, to: 20 } });
  });
});

test("without a token (loopback): a non-loopback Host is refused, so DNS rebinding cannot read the API", async () => {
  await withServer(undefined, async (url) => {
    assert.equal((await call(url, { path: "/api/report" })).status, 200);
    assert.equal((await call(url, { path: "/api/report", headers: { host: "evil.example:80" } })).status, 401);
    assert.equal((await call(url, { path: "/api/report", headers: { host: "localhost:1234" } })).status, 200);
  });
});

test("actions need JSON and, from a browser, this listener's origin (CSRF); their errors are typed", async () => {
  await withServer(undefined, async (url, calls) => {
    const host = url.slice("http://".length);
    const post = (headers: Record<string, string>) => call(url, { method: "POST", path: "/api/rewards/claim", headers });
    assert.equal((await post({ "content-type": "text/plain" })).status, 403);
    assert.equal((await post({ "content-type": "application/json", origin: "http://evil.example" })).status, 403);
    assert.deepEqual(calls, []);
    assert.equal((await post({ "content-type": "application/json", origin: `http://${host}` })).status, 200);
    assert.equal((await post({ "content-type": "application/json" })).status, 200); // the CLI, curl: no Origin
    assert.equal((await call(url, { method: "POST", path: "/api/rewards/withdraw", headers: { "content-type": "application/json" } })).status, 200);
    assert.deepEqual(calls, ["claim", "claim", "withdraw"]);
  });
  await withServer(undefined, async (url) => {
    const r = await call(url, { method: "POST", path: "/api/rewards/claim", headers: { "content-type": "application/json" } });
    assert.deepEqual([r.status, JSON.parse(r.body.toString()).error], [409, "NothingToClaimError"]);
  }, async () => {
    throw new NothingToClaimError();
  });
});

test("tokens: loopback needs none, anything else gets a generated one kept in the data dir; comparison is exact", async (t) => {
  const { mkdtemp, rm, stat } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "bm-admin-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.ok(isLoopbackHost("127.0.0.1") && isLoopbackHost("::1") && isLoopbackHost("[::1]") && isLoopbackHost("localhost"));
  assert.ok(!isLoopbackHost("0.0.0.0") && !isLoopbackHost("192.168.1.2"));
  assert.equal(await resolveAdminToken({ host: "127.0.0.1", configured: undefined, dataDir: dir }), undefined);
  assert.equal(await resolveAdminToken({ host: "0.0.0.0", configured: "configured-token-123", dataDir: dir }), "configured-token-123");
  const generated = await resolveAdminToken({ host: "0.0.0.0", configured: undefined, dataDir: dir });
  assert.ok(generated !== undefined && generated.length >= 32);
  assert.equal(await resolveAdminToken({ host: "0.0.0.0", configured: undefined, dataDir: dir }), generated);
  assert.equal((await stat(join(dir, "admin.token"))).mode & 0o777, 0o600);
  assert.ok(tokenMatches(generated, generated));
  assert.ok(!tokenMatches(generated, `${generated}x`));
  assert.ok(!tokenMatches(generated, undefined));
});
