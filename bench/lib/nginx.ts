// The reference data plane for the benchmarks: nginx (Debian's nginx-light) serving a directory
// on 127.0.0.1, loaded with wrk. One definition, so every benchmark compares against the same nginx.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../src/devnet/freePort.ts";

/** Whether `cmd` is on the PATH (or in /usr/sbin, where Debian puts nginx). */
export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0 || spawnSync("sh", ["-c", `test -x /usr/sbin/${cmd}`]).status === 0;
}

/** Makes sure nginx and wrk are installed: apt-get as root when missing, else says how. */
export function ensureNginxAndWrk(): boolean {
  if (have("nginx") && have("wrk")) return true;
  if (process.getuid?.() === 0 && have("apt-get")) {
    console.log("installing nginx-light and wrk with apt-get ...");
    spawnSync("apt-get", ["update"], { stdio: "inherit" });
    spawnSync("apt-get", ["install", "-y", "nginx-light", "wrk"], { stdio: "inherit" });
    if (have("nginx") && have("wrk")) return true;
  }
  console.log("nginx and wrk are needed: sudo apt-get install -y nginx-light wrk");
  return false;
}

/**
 * The nginx configurations every benchmark measures, each on its own port: Debian's stock data
 * path (sendfile), and two with sendfile off and large output buffers, which on this loopback
 * setup beat sendfile by 1.3-1.9x (measured 2026-11-27: 64 MiB 1.5-1.6 vs 2.0-2.1 GB/s with
 * `2 1m`; 1 MiB 1.5-1.6 vs 2.9-3.0 GB/s with `2 8m`). Comparisons use the best of them per object
 * (`wrkBest`), so the reference is nginx tuned for this box, not nginx left at its defaults.
 */
export const NGINX_VARIANTS = [
  { name: "sendfile", directives: "sendfile on; tcp_nopush on;" },
  { name: "buffers 2x1m", directives: "sendfile off; output_buffers 2 1m;" },
  { name: "buffers 2x8m", directives: "sendfile off; output_buffers 2 8m;" },
] as const;

/** A running nginx: its process and the base URL (`http://127.0.0.1:<port>`) of each variant. */
export type Nginx = { proc: ChildProcess; urls: { name: string; url: string }[] };

/**
 * Starts nginx in the foreground under `prefix` (its config, pid and logs), serving `root` on
 * 127.0.0.1 with every configuration of NGINX_VARIANTS, on `port`, `port + 1`, ...; resolves once
 * `probePath` answers a HEAD on each. When nginx cannot bind (another process took one of those
 * ports meanwhile, as a busy shared machine does), it tries twice more on ports found free.
 */
export async function startNginx(p: { prefix: string; root: string; port: number; workers?: number | string; probePath: string }): Promise<Nginx> {
  let ports = NGINX_VARIANTS.map((_, i) => p.port + i);
  for (let attempt = 1; ; attempt++) {
    const started = await startNginxOn(p, ports);
    if (started !== undefined) return started;
    if (attempt === 3) throw new Error(`nginx did not start; see ${p.prefix}/error.log`);
    ports = [];
    for (let i = 0; i < NGINX_VARIANTS.length; i++) ports.push(await freePort());
  }
}

/** One try of startNginx on `ports` (one per variant); undefined when nginx exits or does not answer. */
async function startNginxOn(p: { prefix: string; root: string; workers?: number | string; probePath: string }, ports: number[]): Promise<Nginx | undefined> {
  const { prefix, root } = p;
  const servers = NGINX_VARIANTS.map((v, i) => `  server { listen 127.0.0.1:${ports[i]}; root ${root}; ${v.directives} location / { } }`).join("\n");
  const conf = `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes ${p.workers ?? 1};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${servers}
}
`;
  await writeFile(join(prefix, "nginx.conf"), conf);
  const bin = spawnSync("sh", ["-c", "command -v nginx"]).stdout.toString().trim() || "/usr/sbin/nginx";
  const proc = spawn(bin, ["-p", prefix, "-c", join(prefix, "nginx.conf"), "-e", join(prefix, "error.log")], { stdio: "inherit" });
  const urls = NGINX_VARIANTS.map((v, i) => ({ name: v.name, url: `http://127.0.0.1:${ports[i]}` }));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  for (let i = 0; i < 50 && running(); i++) {
    try {
      const up = await Promise.all(urls.map(async (u) => (await fetch(`${u.url}/${p.probePath}`, { method: "HEAD" })).ok));
      if (up.every(Boolean)) return { proc, urls };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (running()) {
    proc.kill();
    await new Promise((r) => proc.once("exit", r));
  }
  return undefined;
}

/**
 * Runs wrk against `url` and returns requests per second and any error line. Asynchronous on
 * purpose: a server under test may run on this process's event loop.
 */
export async function wrk(
  url: string,
  opts: { threads: number | string; connections: number | string; durationSeconds: number | string; script?: string; scriptArgs?: readonly string[] },
): Promise<{ rps: number; errors: string }> {
  const script = opts.script !== undefined ? ["-s", opts.script] : [];
  const args = [`-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.durationSeconds}s`, "--timeout", "30s", ...script, url, ...(opts.scriptArgs?.length ? ["--", ...opts.scriptArgs] : [])];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${out}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "NaN"), errors: [...out.matchAll(/Socket errors:.*|Non-2xx.*/g)].map((m) => m[0].trim()).join("; ") };
}

/** wrk against `path` on every nginx variant; the best request rate, which variant gave it, and every variant's rate. */
export async function wrkBest(
  nginx: Nginx,
  path: string,
  opts: { threads: number | string; connections: number | string; durationSeconds: number | string },
): Promise<{ rps: number; errors: string; variant: string; all: string }> {
  let best: { rps: number; errors: string; variant: string } | undefined;
  const all: string[] = [];
  for (const { name, url } of nginx.urls) {
    const r = await wrk(`${url}${path}`, opts);
    all.push(`${name} ${r.rps.toFixed(0)}/s`);
    if (best === undefined || r.rps > best.rps) best = { ...r, variant: name };
  }
  return { ...best!, all: all.join(", ") };
}
