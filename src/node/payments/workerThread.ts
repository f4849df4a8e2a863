import { parentPort, Worker } from "node:worker_threads";

// One request/answer channel to a worker thread, shared by the ticket store's writer thread and the
// signer pool: every request gets exactly one answer, in order; a handler's error comes back as a
// rejection; a thread that fails or exits rejects everything pending and everything asked later,
// so nothing waits forever on a thread that is gone.

type Envelope<T> = { id: number; request: T } | { id: -1; close: true };
type Answer<T> = { id: number; value: T } | { id: number; error: string };

/** The node's side of a worker thread. */
export type WorkerThread<Req, Rep> = {
  /** Sends `request`; resolves with the handler's answer, rejects with its error or the thread's end. */
  call(request: Req): Promise<Rep>;
  /** Whether the thread still answers. */
  readonly alive: boolean;
  /** Asks the thread to run its close hook and exit after the requests already sent; resolves when it has. */
  close(): Promise<void>;
};

/** Starts the worker at `url` (a module that calls `serveThread`) with `workerData`; `name` goes into errors. */
export function startWorkerThread<Req, Rep>(url: URL, workerData: unknown, name: string): WorkerThread<Req, Rep> {
  const worker = new Worker(url, { workerData });
  worker.unref();
  const pending = new Map<number, { resolve: (v: Rep) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const fail = (error: Error) => {
    dead ??= error;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  worker.on("message", (answer: Answer<Rep>) => {
    const p = pending.get(answer.id);
    if (p === undefined) return;
    pending.delete(answer.id);
    if ("error" in answer) p.reject(new Error(answer.error));
    else p.resolve(answer.value);
  });
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the ${name} thread exited (code ${code})`)));
  return {
    call(request) {
      if (dead !== undefined) return Promise.reject(dead);
      const id = nextId++;
      return new Promise<Rep>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, request } satisfies Envelope<Req>);
      });
    },
    get alive() {
      return dead === undefined;
    },
    close() {
      if (dead === undefined) worker.postMessage({ id: -1, close: true } satisfies Envelope<Req>);
      return exited;
    },
  };
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
