import type { Address, Hex } from "viem";
import type { Ticket } from "../../protocol/ticket.ts";
import type { Secp256k1Choice } from "../../protocol/secp256k1.ts";
import { startWorkerThread } from "./workerThread.ts";

// Signature recovery is the one expensive step of a ticket check (~0.1 ms of native libsecp256k1
// here, with the EIP-712 hashing around it), and at one ticket per MiB it costs the node's event
// loop about a quarter of what serving that MiB does. The pool moves it onto worker threads
// (signerPoolThread.ts), so it runs on the cores the event loop does not use. The pool only
// computes: deciding a ticket stays with the intake, which treats any answer other than "this
// sender signed it" by running the synchronous check, so a refusal always carries the typed error
// the protocol names (and a dead pool only makes intake slower, never wrong).

/** A recovered signer and the ticket's EIP-712 digest. */
export type RecoveredSigner = { signer: Address; digest: Hex };

/** Recovers ticket signers off the event loop. */
export type SignerPool = {
  /** The signer and digest, or undefined if the signature is malformed or does not recover (or the pool is gone). */
  recover(ticket: Ticket, signature: Hex): Promise<RecoveredSigner | undefined>;
  /** Signatures the threads recovered (for /status: proof the threads do the work). */
  readonly recovered: number;
  /** Threads running now (they start on demand and stop when idle, see `idleMs`). */
  readonly running: number;
  /** Stops the threads; pending recoveries resolve undefined. */
  close(): Promise<void>;
};

/** A request to a signer thread, and its answer; they travel in batches (one message each way). */
export type SignerRequest = { id: number; ticket: Ticket; signature: Hex };
export type SignerReply = { id: number; signer?: Address; digest?: Hex };

/** What a signer thread receives as its workerData. */
export type SignerThreadData = { domainSeparator: Uint8Array; secp256k1: Secp256k1Choice };

/**
 * Starts `threads` (>= 1) signer threads for tickets under `domainSeparator` (32 bytes), recovering
 * with the `secp256k1` backend (pass the main thread's, so both check tickets the same way). With
 * `idleMs` the threads start with the first tickets and stop after that long without any.
 */
export function startSignerPool({ threads, domainSeparator, secp256k1 = "auto", idleMs }: { threads: number; domainSeparator: Uint8Array; secp256k1?: Secp256k1Choice; idleMs?: number }): SignerPool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`signer threads must be a positive integer, got ${threads}`);
  const url = new URL("./signerPoolThread.ts", import.meta.url);
  const data: SignerThreadData = { domainSeparator, secp256k1 };
  const workers = Array.from({ length: threads }, () => startWorkerThread<SignerRequest[], SignerReply[]>(url, data, "signer", idleMs === undefined ? {} : { idleMs }));
  let recovered = 0;
  const pending = new Map<number, (r: RecoveredSigner | undefined) => void>();
  const answer = (id: number, r: RecoveredSigner | undefined) => {
    pending.get(id)?.(r);
    pending.delete(id);
  };
  let nextId = 0;
  let closed = false;
  let turn = 0;
  // Requests made in one turn of the event loop leave as one message per thread: a postMessage
  // clones its tickets and wakes the thread with a syscall, and one per ticket showed up in the
  // node's profile beside the writes of the bytes themselves. A turn is everything the poll phase
  // found readable (setImmediate runs after it): under load that is several requests' tickets,
  // not only one request's (a microtask flushed each request's alone). A thread that fails
  // answers its share with nothing (the intake then checks inline).
  let outbox: SignerRequest[] = [];
  const flush = () => {
    const batch = outbox;
    outbox = [];
    const live = workers.filter((w) => w.alive);
    if (live.length === 0) return batch.forEach((r) => answer(r.id, undefined));
    const per = Math.ceil(batch.length / live.length);
    for (let i = 0; i < batch.length; i += per) {
      const share = batch.slice(i, i + per);
      live[turn++ % live.length]!.call(share).then(
        (replies) =>
          replies.forEach((r) => {
            if (r.signer === undefined || r.digest === undefined) return answer(r.id, undefined);
            recovered++;
            answer(r.id, { signer: r.signer, digest: r.digest });
          }),
        () => share.forEach((r) => answer(r.id, undefined)),
      );
    }
  };
  return {
    recover(ticket, signature) {
      if (closed) return Promise.resolve(undefined);
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        if (outbox.push({ id, ticket, signature }) === 1) setImmediate(flush);
      });
    },
    get recovered() {
      return recovered;
    },
    get running() {
      return workers.filter((w) => w.running).length;
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
