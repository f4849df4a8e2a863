import type { AcceptTicketInput, TicketStore } from "./ticketStore.ts";

// Group commit for ticket intake. Every accepted ticket must be on disk (fsync'd: the store runs
// synchronous=FULL) before the bytes it pays for count as paid, and one fsync costs milliseconds.
// Tickets that arrive together therefore share one transaction: intake queues a checked ticket and
// awaits its batch; the writer commits the whole queue in one transaction on the next turn of the
// event loop (setImmediate, i.e. after every request that was already readable has been checked)
// or at once when the queue reaches `maxBatch`. node:sqlite is synchronous, so while one batch's
// fsync runs the next batch accumulates in the socket buffers: under load the batch grows with
// the fsync latency, and with one client at a time it degenerates to one ticket per commit (no
// added latency, no timer).

/** Dependencies and tuning of the committer. */
export type TicketCommitterParameters = {
  store: Pick<TicketStore, "acceptTickets">;
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

  function flush(): void {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      try {
        store.acceptTickets(batch.map((e) => e.input));
      } catch (error) {
        const failed = [...batch, ...queue];
        queue = [];
        for (const e of failed) e.reject(error);
        return;
      }
      onCommit?.(batch.length);
      for (const e of batch) e.resolve();
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
    /** Commits whatever is queued now (synchronously). */
    flush,
    /** Commits what is queued and refuses further tickets (call before closing the store). */
    close(): void {
      flush();
      closed = true;
    },
  };
}
