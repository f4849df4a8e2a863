// The reference data plane for the benchmarks: nginx (Debian's nginx-light) serving a directory
// on 127.0.0.1, loaded with wrk. One definition, so every benchmark compares against the same nginx.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

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
 * Starts nginx in the foreground under `prefix` (its config, pid and logs), serving `root` on
 * 127.0.0.1:`port` with sendfile; resolves once `probePath` answers a HEAD.
 */
export async function startNginx(p: { prefix: string; root: string; port: number; workers?: number | string; probePath: string }): Promise<ChildProcess> {
  const { prefix, root, port } = p;
  const conf = `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes ${p.workers ?? 1};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server { listen 127.0.0.1:${port}; root ${root}; location / { } }
}
`;
  await writeFile(join(prefix, "nginx.conf"), conf);
  const bin = spawnSync("sh", ["-c", "command -v nginx"]).stdout.toString().trim() || "/usr/sbin/nginx";
  const proc = spawn(bin, ["-p", prefix, "-c", join(prefix, "nginx.conf"), "-e", join(prefix, "error.log")], { stdio: "inherit" });
  for (let i = 0; i < 50; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/${p.probePath}`, { method: "HEAD" })).ok) return proc;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`nginx did not start; see ${prefix}/error.log`);
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
