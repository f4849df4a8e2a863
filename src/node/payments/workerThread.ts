import { parentPort, Worker } from "node:worker_threads";

// One request/answer channel to a worker thread, shared by the ticket store's writer thread and the
// signer pool: every request gets exactly one answer, in order; a handler's error comes back as a
// rejection; a thread that fails or exits rejects everything pending and everything asked later,
// so nothing waits forever on a thread that is gone. A thread may start on demand and stop when
// idle (`idleMs`): a node with no traffic then holds no thread and none of its memory.

type Envelope<T> = { id: number; request: T } | { id: -1; close: true };
type Answer<T> = { id: number; value: T } | { id: number; error: string };

/** The node's side of a worker thread. */
export type WorkerThread<Req, Rep> = {
  /** Sends `request`; resolves with the handler's answer, rejects with its error or the thread's end. */
  call(request: Req): Promise<Rep>;
  /** Whether the thread still answers (an idle thread that stopped to free its memory still does). */
  readonly alive: boolean;
  /** Whether a thread is running now (false before the first call and after an idle stop). */
  readonly running: boolean;
  /** Asks the thread to run its close hook and exit after the requests already sent; resolves when it has. */
  close(): Promise<void>;
};

/** The workerData key carrying dist/bandmint.mjs's URL to a thread of the self-contained build. */
export const BUNDLE_URL_KEY = "bandmintUrl";

/** Options of a worker thread. */
export type WorkerThreadOptions = {
  /**
   * Start the thread at the first call and stop it (close hook, exit) after this long without a
   * request; the next call starts it again. A thread is a V8 isolate of its own (15-30 MB here), so
   * an idle node holds none. Undefined: start now, run until close().
   */
  idleMs?: number;
};

/**
 * Starts the worker at `url` (a module that calls `serveThread`) with `workerData` (an object);
 * `name` goes into errors and names the OS thread (what `top -H` and /proc/<pid>/task show, so an
 * operator or a bench can tell the signer's CPU from the writer's). The self-contained build
 * (scripts/build-node.ts) compiles each thread module into a small script of its own inside
 * dist/bandmint.mjs, found by its file name: a thread that parsed the whole build would cost twice
 * the memory.
 */
export function startWorkerThread<Req, Rep>(url: URL, workerData: object, name: string, options: WorkerThreadOptions = {}): WorkerThread<Req, Rep> {
  const pending = new Map<number, { resolve: (v: Rep) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  let closing = false;
  let live: { worker: Worker; exited: Promise<void> } | undefined;
  /** Threads stopped for idleness that have not exited yet. */
  const stopping = new Map<Promise<void>, Worker>();
  let idleTimer: NodeJS.Timeout | undefined;

  const fail = (error: Error) => {
    dead ??= error;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  function spawn(): { worker: Worker; exited: Promise<void> } {
    const worker = typeof BANDMINT_THREADS !== "undefined" ? bundledWorker(url, workerData, name) : new Worker(url, { workerData, name });
    // An idle thread does not keep the process alive; one with requests pending (or closing) does
    // (`call`, `close`): otherwise a stop that waits only for the thread, its server already
    // closed, ended the process mid-commit with exit code 13 (seen in the soak).
    worker.unref();
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const self = { worker, exited };
    worker.on("message", (answer: Answer<Rep>) => {
      const p = pending.get(answer.id);
      if (p === undefined) return;
      pending.delete(answer.id);
      if ("error" in answer) p.reject(new Error(answer.error));
      else p.resolve(answer.value);
      if (pending.size === 0) {
        if (!closing) worker.unref();
        armIdle();
      }
    });
    worker.on("error", fail);
    // An exit we did not ask for (idle stop or close) is a failure: everything pending is lost.
    worker.on("exit", (code) => {
      if (live === self) fail(new Error(`the ${name} thread exited (code ${code})`));
    });
    return self;
  }
  function armIdle(): void {
    if (options.idleMs === undefined || closing) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (pending.size > 0 || live === undefined || dead !== undefined) return;
      const stopped = live;
      live = undefined;
      stopped.worker.postMessage({ id: -1, close: true } satisfies Envelope<Req>);
      stopping.set(stopped.exited, stopped.worker);
      void stopped.exited.then(() => stopping.delete(stopped.exited));
    }, options.idleMs);
    idleTimer.unref();
  }
  if (options.idleMs === undefined) live = spawn();

  return {
    call(request) {
      if (dead !== undefined) return Promise.reject(dead);
      if (closing) return Promise.reject(new Error(`the ${name} thread is closed`));
      live ??= spawn();
      const { worker } = live;
      clearTimeout(idleTimer);
      const id = nextId++;
      return new Promise<Rep>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        if (pending.size === 1) worker.ref();
        worker.postMessage({ id, request } satisfies Envelope<Req>);
      });
    },
    get alive() {
      return dead === undefined;
    },
    get running() {
      return live !== undefined && dead === undefined;
    },
    async close() {
      closing = true;
      clearTimeout(idleTimer);
      const current = live;
      for (const w of stopping.values()) w.ref();
      if (current !== undefined && dead === undefined) {
        current.worker.ref();
        current.worker.postMessage({ id: -1, close: true } satisfies Envelope<Req>);
        // Answers to requests already sent arrive before the exit; anything after is a failure.
        await current.exited;
      } else if (current !== undefined) {
        await current.worker.terminate();
      }
      live = undefined;
      await Promise.all(stopping.keys());
    },
  };
}

function bundledWorker(url: URL, workerData: object, name: string): Worker {
  const file = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  const code = BANDMINT_THREADS![file];
  if (code === undefined) throw new Error(`bandmint.mjs has no thread ${file}: add it to THREAD_MODULES in scripts/build-node.ts`);
  // The thread resolves native modules (secp256k1) from the build's own location.
  return new Worker(code, { eval: true, workerData: { ...workerData, [BUNDLE_URL_KEY]: import.meta.url }, name });
}

/** The thread's side: answers each request with `handle` (a throw becomes the caller's rejection); `onClose` runs before it exits. */
export function serveThread<Req, Rep>(handle: (request: Req) => Rep, onClose?: () => void): void {
  const port = parentPort!;
  port.on("message", (message: Envelope<Req>) => {
    if ("close" in message) {
      onClose?.();
      port.close();
      return;
    }
    let answer: Answer<Rep>;
    try {
      answer = { id: message.id, value: handle(message.request) };
    } catch (error) {
      answer = { id: message.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(answer);
  });
}
