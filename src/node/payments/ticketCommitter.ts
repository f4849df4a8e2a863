import type { AcceptTicketInput, TicketStore } from "./ticketStore.ts";

// Group commit for ticket intake. Every accepted ticket must be on disk (fsync'd: the store runs
// synchronous=FULL) before the bytes it pays for count as paid, and one fsync costs milliseconds.
// Tickets that arrive together therefore share one transaction: intake queues a checked ticket and
// awaits its batch; the writer commits the whole queue in one transaction on the next turn of the
// event loop (setImmediate, i.e. after every request that was already readable has been checked)
// or at once when the queue reaches `maxBatch`. The store writes a batch either inline
// (synchronously: the next batch accumulates in the socket buffers while the fsync runs) or on its
// writer thread (a promise: the event loop keeps serving and checking tickets, which queue here
// until the running batch is durable, then go as the next batch). Either way, under load the batch
// grows with the fsync latency, and with one client at a time it degenerates to one ticket per
// commit (no added latency, no timer). One batch is written at a time, in queue order.

/** Dependencies and tuning of the committer. */
export type TicketCommitterParameters = {
  store: Pick<TicketStore, "writeTickets">;
  /** Commit at once when this many tickets are queued (bounds transaction size and memory). */
  maxBatch?: number;
  /** Called once per committed batch with its size (metrics, tests). */
  onCommit?: (size: number) => void;
};

/** Queues checked tickets and commits them in groups; see the note above. */
export type TicketCommitter = ReturnType<typeof createTicketCommitter>;

type Entry = { input: AcceptTicketInput; resolve: () => void; reject: (error: unknown) => void };

/**
 * Creates the group-commit writer. `commit(input)` resolves once the ticket's transaction is
 * durable; if a transaction fails, that batch and everything queued behind it are rejected (they
 * were checked against state the failed batch would have created).
 */
export function createTicketCommitter({ store, maxBatch = 512, onCommit }: TicketCommitterParameters) {
  let queue: Entry[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  /** The batch being written on the store's thread, if any. */
  let writing: Promise<void> | undefined;

  const committed = (batch: Entry[]) => {
    onCommit?.(batch.length);
    for (const e of batch) e.resolve();
  };
  // Tickets queued behind a failed batch were checked against the state it would have created.
  const failed = (batch: Entry[], error: unknown) => {
    const all = [...batch, ...queue];
    queue = [];
    for (const e of all) e.reject(error);
  };

  function flush(): void {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    // A batch is being written: the queue goes when it is durable.
    if (writing !== undefined) return;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      let result: void | Promise<void>;
      try {
        result = store.writeTickets(batch.map((e) => e.input));
      } catch (error) {
        return failed(batch, error);
      }
      if (result === undefined) {
        committed(batch);
        continue;
      }
      writing = result.then(
        () => {
          writing = undefined;
          committed(batch);
          flush();
        },
        (error: unknown) => {
          writing = undefined;
          failed(batch, error);
        },
      );
      return;
    }
  }

  return {
    /** Queues `input`; resolves when its batch is committed (durable), rejects if that failed. */
    commit(input: AcceptTicketInput): Promise<void> {
      if (closed) return Promise.reject(new Error("ticket committer is closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (queue.length >= maxBatch) flush();
        else scheduled ??= setImmediate(flush);
      });
    },
    /** Tickets queued and not yet committed. */
    get queued(): number {
      return queue.length;
    },
    /** Starts committing whatever is queued now (inline writes complete before this returns). */
    flush,
    /** Refuses further tickets and resolves once everything queued is committed (call before closing the store). */
    async close(): Promise<void> {
      closed = true;
      flush();
      while (writing !== undefined) await writing;
    },
  };
}
