import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { Service } from "../../protocol/wire.ts";
import { parseTicket, serializeTicket, type Ticket } from "../../protocol/ticket.ts";
import { StorageFullError } from "./errors.ts";
import { startWorkerThread } from "./workerThread.ts";

// The provider's durable memory: sessions (with their secret recipientRand), the last nonce per
// sender, every accepted ticket and the redemption state of winners.
//
// SQLite in WAL mode with synchronous=FULL. In WAL mode NORMAL already survives a process crash
// (SIGKILL) because committed pages are in the WAL file the OS holds; it does not survive a power
// loss or kernel panic, which can drop the last transactions. A ticket is money and the node
// tells the client "paid" right after the commit, so we pay one fsync of the WAL per commit
// (FULL) to make "acknowledged" mean "on disk". Tickets that arrive together share one commit
// (acceptTickets, driven by ticketCommitter.ts) and served-byte counters are flushed in batches
// (flushCounters), so the fsync cost is per group of concurrent tickets, not per ticket or request.
//
// Sessions keep sha256 of their secret session token (sessionToken.ts), never the token. Databases
// from before session tokens get the column by migration (migrateSessionTokens); their sessions
// have no hash and so no token: nobody can use them for content or tickets, and their clients open
// new sessions (payments.md §1.2).
//
// bigints are stored as decimal TEXT (SQLite integers are 64-bit signed; uint256 does not fit);
// nonces also as 64-hex `nonce_key` so that ORDER BY sorts them numerically.
//
// The store assumes it is the only writer of its database (one node process): it keeps the
// per-sender nonce watermark in memory, read from disk once at open and moved after each commit.
//
// Ticket commits and new sessions can run on a writer thread (`ticketWriter: "thread"`, what the
// node uses): its own connection to the same WAL database, so the fsync of a commit no longer stops
// the event loop that serves bytes (bench/paid.ts measured commits at ~40% of the time spent
// writing responses with them inline; bench:attack's session floods, 100-160 new sessions a second,
// blocked the loop 5-8 % of the time on their fsyncs and on the lock the writer thread held).
// Everything else, reads included, stays on this connection; WAL lets the two connections read
// while the other writes, and busy_timeout serializes their writes.

/** A session as stored. */
export type SessionRecord = {
  id: Hex;
  sender: Address;
  rand: bigint;
  randHash: Hex;
  servedBytes: bigint;
  paidBytes: bigint;
  createdAt: number;
  lastActive: number;
  /** sha256 of the session token; undefined for sessions opened before tokens (unusable). */
  tokenHash: Hex | undefined;
  /** The service the session pays for ("cdn" for sessions from before relay mode). */
  service: Service;
};

/** Redemption state of a stored ticket: losing tickets never leave `losing`. */
export type TicketState = "losing" | "pending" | "submitted" | "confirmed" | "failed";

/** A stored ticket with its bookkeeping. */
export type StoredTicket = {
  hash: Hex;
  sessionId: Hex;
  ticket: Ticket;
  signature: Hex;
  recipientRand: bigint;
  winning: boolean;
  state: TicketState;
  txHash: Hex | undefined;
  error: string | undefined;
  paidValue: bigint | undefined;
  receivedAt: number;
};

/** A ticket to record at intake; session counters move in the same transaction. */
export type AcceptTicketInput = {
  hash: Hex;
  sessionId: Hex;
  ticket: Ticket;
  signature: Hex;
  recipientRand: bigint;
  winning: boolean;
  servedBytes: bigint;
  now: number;
};

/**
 * A new session's row, written in one transaction with the digest of the signed request that
 * opened it (kept until `expiresAt`, unix seconds, so the request cannot be replayed while its
 * timestamp is acceptable) and the deletion of the sessions it replaces (`forget`).
 */
export type SessionInsert = {
  id: Hex;
  sender: Address;
  rand: bigint;
  randHash: Hex;
  tokenHash: Hex;
  now: number;
  service?: Service;
  request?: { digest: Hex; expiresAt: number };
  forget?: readonly Hex[];
};

/** One message to the writer thread: one transaction (writerThread answers once it is durable). */
export type WriterRequest = { sessions: readonly SessionInsert[] } | { tickets: readonly AcceptTicketInput[] };

/** Totals of one confirmed redemption transaction. */
export type RedemptionTotals = { paid: bigint; burned: bigint; treasury: bigint; gasUsed: bigint; gasCost: bigint };

/** Aggregates for the node's status page. */
export type StoreStats = {
  tickets: number;
  winners: number;
  byState: Record<TicketState, number>;
  redeemed: RedemptionTotals & { transactions: number };
};

/** The ticket store; every method is synchronous (node:sqlite) and every write is one transaction. */
export type TicketStore = ReturnType<typeof openTicketStore>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, rand TEXT NOT NULL, rand_hash TEXT NOT NULL,
  served TEXT NOT NULL, paid TEXT NOT NULL, created_at INTEGER NOT NULL, last_active INTEGER NOT NULL,
  token_hash TEXT
);
CREATE TABLE IF NOT EXISTS session_requests (digest TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sender_nonces (sender TEXT PRIMARY KEY, last_nonce TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
  hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, sender TEXT NOT NULL, nonce_key TEXT NOT NULL,
  ticket TEXT NOT NULL, signature TEXT NOT NULL, recipient_rand TEXT NOT NULL, winning INTEGER NOT NULL,
  face_value TEXT NOT NULL, expiry INTEGER NOT NULL, state TEXT NOT NULL, tx_hash TEXT, error TEXT,
  paid_value TEXT, received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_redeem ON tickets (state, sender, nonce_key) WHERE winning = 1;
CREATE INDEX IF NOT EXISTS tickets_session ON tickets (session_id);
CREATE TABLE IF NOT EXISTS redemptions (
  tx_hash TEXT PRIMARY KEY, submitted_at INTEGER NOT NULL, state TEXT NOT NULL, paid TEXT, burned TEXT,
  treasury TEXT, gas_used TEXT, gas_cost TEXT, confirmed_at INTEGER
);
`;

const nonceKey = (n: bigint): string => n.toString(16).padStart(64, "0");

type Row = Record<string, unknown>;

function sessionFromRow(r: Row): SessionRecord {
  return {
    id: r.id as Hex,
    sender: r.sender as Address,
    rand: BigInt(r.rand as string),
    randHash: r.rand_hash as Hex,
    servedBytes: BigInt(r.served as string),
    paidBytes: BigInt(r.paid as string),
    createdAt: Number(r.created_at),
    lastActive: Number(r.last_active),
    tokenHash: (r.token_hash as Hex | null) ?? undefined,
    service: r.service === "relay" ? "relay" : "cdn",
  };
}

/**
 * Adds `sessions.token_hash` to a database created before session tokens (CREATE TABLE IF NOT
 * EXISTS leaves an existing table as it was). Existing rows keep NULL: they never had a token.
 */
function migrateSessionTokens(db: DatabaseSync): void {
  const columns = (db.prepare(`PRAGMA table_info(sessions)`).all() as Row[]).map((c) => c.name);
  if (!columns.includes("token_hash")) db.exec(`ALTER TABLE sessions ADD COLUMN token_hash TEXT`);
  // Unique so that one token can never name two sessions; NULLs (old sessions) do not collide.
  db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS sessions_token ON sessions (token_hash)`);
}

/** Adds `sessions.service` to a database from before relay mode: its sessions were all cdn. */
function migrateSessionService(db: DatabaseSync): void {
  const columns = (db.prepare(`PRAGMA table_info(sessions)`).all() as Row[]).map((c) => c.name);
  if (!columns.includes("service")) db.exec(`ALTER TABLE sessions ADD COLUMN service TEXT NOT NULL DEFAULT 'cdn'`);
}

/**
 * Keeps `ticket_counts` (tickets per state and winning) in step with `tickets` by triggers, so
 * `stats()` reads a few rows instead of scanning every ticket: GET /status needs no credentials,
 * and a full scan per request let a flood of them starve the node as its store grew. The triggers
 * fire for every connection (the writer thread's too). A database from before gets the table
 * filled from its tickets once, in the same transaction that adds the triggers.
 */
function migrateTicketCounts(db: DatabaseSync): void {
  if (db.prepare(`SELECT 1 AS x FROM sqlite_master WHERE type = 'trigger' AND name = 'ticket_counts_update'`).get() !== undefined) return;
  const bump = (state: string, winning: string) =>
    `INSERT INTO ticket_counts (state, winning, n) VALUES (${state}, ${winning}, 1) ON CONFLICT (state, winning) DO UPDATE SET n = n + 1;`;
  const drop = (state: string, winning: string) => `UPDATE ticket_counts SET n = n - 1 WHERE state = ${state} AND winning = ${winning};`;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ticket_counts (state TEXT NOT NULL, winning INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (state, winning));
      DELETE FROM ticket_counts;
      INSERT INTO ticket_counts (state, winning, n) SELECT state, winning, COUNT(*) FROM tickets GROUP BY state, winning;
      CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets BEGIN ${bump("NEW.state", "NEW.winning")} END;
      CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets BEGIN ${drop("OLD.state", "OLD.winning")} END;
      CREATE TRIGGER ticket_counts_update AFTER UPDATE OF state, winning ON tickets BEGIN ${drop("OLD.state", "OLD.winning")} ${bump("NEW.state", "NEW.winning")} END;
    `);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function ticketFromRow(r: Row): StoredTicket {
  return {
    hash: r.hash as Hex,
    sessionId: r.session_id as Hex,
    ticket: parseTicket(JSON.parse(r.ticket as string)),
    signature: r.signature as Hex,
    recipientRand: BigInt(r.recipient_rand as string),
    winning: Number(r.winning) === 1,
    state: r.state as TicketState,
    txHash: (r.tx_hash as Hex | null) ?? undefined,
    error: (r.error as string | null) ?? undefined,
    paidValue: r.paid_value === null ? undefined : BigInt(r.paid_value as string),
    receivedAt: Number(r.received_at),
  };
}

/**
 * Opens (creating if needed) the ticket store at `path` in WAL mode with synchronous=FULL
 * (`synchronous: "NORMAL"` exists for the benchmark's comparison only; see the note above).
 */
export function openTicketStore({
  path,
  synchronous = "FULL",
  ticketWriter = "inline",
  writerIdleMs,
}: {
  path: string;
  synchronous?: "FULL" | "NORMAL";
  ticketWriter?: "inline" | "thread";
  /** The writer thread starts with the first commit and stops after this long without one (workerThread.ts). */
  writerIdleMs?: number;
}) {
  mkdirSync(dirname(path), { recursive: true });
  const db = openConnection(path, synchronous);
  db.exec(SCHEMA);
  migrateSessionTokens(db);
  migrateSessionService(db);
  migrateTicketCounts(db);

  const s = (sql: string): StatementSync => db.prepare(sql);
  const q = {
    getSession: s(`SELECT * FROM sessions WHERE id = ?`),
    hasRequest: s(`SELECT 1 AS x FROM session_requests WHERE digest = ?`),
    allSessions: s(`SELECT * FROM sessions`),
    // `paid` is written only with the ticket that moves it (prepareWrites), never from memory:
    // with a writer thread, a flush from this connection could otherwise land after a newer commit.
    counters: s(`UPDATE sessions SET served = ?, last_active = ? WHERE id = ?`),
    rotate: s(`UPDATE sessions SET rand = ?, rand_hash = ? WHERE id = ?`),
    deleteSession: s(`DELETE FROM sessions WHERE id = ?`),
    setNonce: s(`INSERT INTO sender_nonces (sender, last_nonce) VALUES (?, ?) ON CONFLICT (sender) DO UPDATE SET last_nonce = excluded.last_nonce`),
    getTicket: s(`SELECT * FROM tickets WHERE hash = ?`),
    byState: s(`SELECT * FROM tickets WHERE winning = 1 AND state = ? ORDER BY sender, nonce_key`),
    setState: s(`UPDATE tickets SET state = ?, tx_hash = ?, error = ?, paid_value = ?, updated_at = ? WHERE hash = ?`),
    insertRedemption: s(`INSERT OR IGNORE INTO redemptions (tx_hash, submitted_at, state) VALUES (?, ?, 'submitted')`),
    confirmRedemption: s(`UPDATE redemptions SET state = ?, paid = ?, burned = ?, treasury = ?, gas_used = ?, gas_cost = ?, confirmed_at = ? WHERE tx_hash = ?`),
    counts: s(`SELECT state, winning, n FROM ticket_counts`),
    redeemedTotals: s(`SELECT paid, burned, treasury, gas_used, gas_cost FROM redemptions WHERE state = 'confirmed'`),
    ticketsOfSession: s(`SELECT * FROM tickets WHERE session_id = ? ORDER BY nonce_key`),
    outstanding: s(`SELECT sender, COUNT(*) AS n FROM tickets WHERE winning = 1 AND state IN ('pending', 'submitted') GROUP BY sender`),
    scan: s(`SELECT rowid AS id, received_at, face_value, json_extract(ticket, '$.winProb') AS win_prob, winning FROM tickets WHERE rowid > ? ORDER BY rowid LIMIT ?`),
  };

  const tx = <T>(fn: () => T): T => {
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (error) {
        rollback(db);
        throw error;
      }
    } catch (error) {
      throw storeError(error);
    }
  };
  /** A single-statement write (its own implicit transaction), with the full disk named as such. */
  const write = (fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      throw storeError(error);
    }
  };

  // Every write of sender_nonces goes through this object, so after one read at open the table's
  // content also lives here: a content request (whose headers name the next nonce) and every
  // ticket check then read a Map, not SQLite. The map moves only after a write commits.
  const nonces = new Map<Address, bigint>();
  for (const r of s(`SELECT sender, last_nonce FROM sender_nonces`).all() as Row[]) nonces.set(r.sender as Address, BigInt(r.last_nonce as string));

  const writeRows = prepareWrites(db);
  // stats() is what GET /status (public: anyone may poll it) reads; it is kept until a write that
  // changes what it sums (tickets stored, their states, redemptions) commits, so it stays exact and
  // a poll between commits costs no query (nor a scan of every redemption the node ever made).
  let statsCache: StoreStats | undefined;
  const changed = () => {
    statsCache = undefined;
  };
  /** What stats() returns, read from SQLite (see statsCache). */
  function readStats(): StoreStats {
    const byState: Record<TicketState, number> = { losing: 0, pending: 0, submitted: 0, confirmed: 0, failed: 0 };
    let tickets = 0;
    let winners = 0;
    for (const r of q.counts.all() as Row[]) {
      byState[r.state as TicketState] += Number(r.n);
      tickets += Number(r.n);
      if (Number(r.winning) === 1) winners += Number(r.n);
    }
    const redeemed = { paid: 0n, burned: 0n, treasury: 0n, gasUsed: 0n, gasCost: 0n, transactions: 0 };
    for (const r of q.redeemedTotals.all() as Row[]) {
      redeemed.transactions += 1;
      redeemed.paid += BigInt((r.paid as string | null) ?? "0");
      redeemed.burned += BigInt((r.burned as string | null) ?? "0");
      redeemed.treasury += BigInt((r.treasury as string | null) ?? "0");
      redeemed.gasUsed += BigInt((r.gas_used as string | null) ?? "0");
      redeemed.gasCost += BigInt((r.gas_cost as string | null) ?? "0");
    }
    return { tickets, winners, byState, redeemed };
  }
  const accepted = (batch: readonly AcceptTicketInput[]): void => {
    for (const a of batch) nonces.set(a.ticket.sender, a.ticket.senderNonce);
    changed();
  };
  const acceptTickets = (batch: readonly AcceptTicketInput[]): void => {
    if (batch.length === 0) return;
    writeRows({ tickets: batch });
    accepted(batch);
  };
  const thread =
    ticketWriter === "thread"
      ? startWorkerThread<WriterRequest, void>(new URL("./ticketWriterThread.ts", import.meta.url), { path, synchronous }, "ticket writer", writerIdleMs === undefined ? {} : { idleMs: writerIdleMs })
      : undefined;
  /** A failed commit on the thread (its error comes back as text): a full disk is recognised by SQLite's wording. */
  const threadError = (what: string, error: Error): Error => (isStorageFull(error) ? new StorageFullError({ cause: error }) : new Error(`${what} commit failed: ${error.message}`, { cause: error }));

  // New sessions on the writer thread: those asked for in one turn of the event loop share one
  // transaction (a session flood costs one fsync per turn, not one each). A ticket batch sends the
  // queue first, so a session's row always precedes its tickets' (the thread commits in order).
  let sessionQueue: { insert: SessionInsert; resolve: () => void; reject: (error: Error) => void }[] = [];
  let sessionsScheduled: NodeJS.Immediate | undefined;
  /** Replay keys of sessions queued or being written (SQLite has them once committed). */
  const pendingRequests = new Set<Hex>();
  function sendSessions(): void {
    if (sessionsScheduled !== undefined) clearImmediate(sessionsScheduled);
    sessionsScheduled = undefined;
    const entries = sessionQueue;
    sessionQueue = [];
    if (entries.length === 0 || thread === undefined) return;
    const settle = (error?: Error) => {
      for (const e of entries) {
        if (e.insert.request !== undefined) pendingRequests.delete(e.insert.request.digest);
        if (error === undefined) e.resolve();
        else e.reject(error);
      }
    };
    thread.call({ sessions: entries.map((e) => e.insert) }).then(
      () => settle(),
      (error: Error) => settle(threadError("session", error)),
    );
  }

  return {
    /**
     * Records a new session with its secret recipientRand and the hash of its session token and,
     * in the same transaction, the digest of the signed request that opened it (kept until
     * `expiresAt`, unix seconds, so the request cannot be replayed while its timestamp is acceptable),
     * deleting the sessions in `forget` (their tickets stay). Inline it is written when this
     * returns; with the writer thread it is queued and the promise resolves once it is durable.
     */
    createSession(r: SessionInsert): void | Promise<void> {
      if (thread === undefined) return writeRows({ sessions: [r] });
      // Until its commit the replay key lives here, so a replay arriving meanwhile is refused too.
      if (r.request !== undefined) pendingRequests.add(r.request.digest);
      return new Promise<void>((resolve, reject) => {
        sessionQueue.push({ insert: r, resolve, reject });
        sessionsScheduled ??= setImmediate(sendSessions);
      });
    },
    /** Whether a session was already opened (or is being opened) with the signed request of this digest. */
    hasSessionRequest(digest: Hex): boolean {
      return pendingRequests.has(digest) || q.hasRequest.get(digest) !== undefined;
    },
    /** Reads one session. */
    getSession(id: Hex): SessionRecord | undefined {
      const row = q.getSession.get(id) as Row | undefined;
      return row === undefined ? undefined : sessionFromRow(row);
    },
    /** Reads every session (loaded once at start). */
    allSessions(): SessionRecord[] {
      return (q.allSessions.all() as Row[]).map(sessionFromRow);
    },
    /** Persists sessions' served/paid counters in one transaction. */
    flushCounters(rows: readonly { id: Hex; servedBytes: bigint; lastActive: number }[]): void {
      if (rows.length === 0) return;
      tx(() => {
        for (const r of rows) q.counters.run(r.servedBytes.toString(), r.lastActive, r.id);
      });
    },
    /** Deletes sessions (idle ones: sessionBook.forgetIdle); their tickets stay. */
    deleteSessions(ids: readonly Hex[]): void {
      if (ids.length === 0) return;
      tx(() => {
        for (const id of ids) q.deleteSession.run(id);
      });
    },
    /** Replaces a session's recipientRand (after the old one was revealed on chain). */
    rotateRand(id: Hex, rand: bigint, randHash: Hex): void {
      write(() => q.rotate.run(rand.toString(), randHash, id));
    },
    /** The highest nonce accepted (or seen on chain) for `sender`, 0 if none. */
    lastNonce(sender: Address): bigint {
      return nonces.get(sender) ?? 0n;
    },
    /** Raises the stored nonce watermark of `sender` to at least `nonce`. */
    raiseNonce(sender: Address, nonce: bigint): void {
      const last = nonces.get(sender);
      if (last !== undefined && nonce <= last) return;
      write(() => q.setNonce.run(sender, nonce.toString()));
      nonces.set(sender, nonce);
    },
    /**
     * Durably records an accepted ticket, its sender's nonce and the session's counters in one
     * transaction: when this returns the ticket is on disk and the bytes count as paid.
     */
    acceptTicket(a: AcceptTicketInput): void {
      acceptTickets([a]);
    },
    /**
     * Records several accepted tickets in one transaction (group commit: one fsync for all). They
     * are written in order, so a session's counters and a sender's nonce end at its last ticket.
     */
    acceptTickets,
    /**
     * Records accepted tickets in one transaction like `acceptTickets`, on the writer thread when
     * the store has one (resolves once the batch is durable; the nonce watermark moves then).
     * Inline it writes synchronously and returns nothing, so callers that need no thread stay
     * synchronous. Batches must not overlap: the committer sends the next when the last resolved.
     */
    writeTickets(batch: readonly AcceptTicketInput[]): void | Promise<void> {
      if (thread === undefined) return acceptTickets(batch);
      if (batch.length === 0) return Promise.resolve();
      if (sessionQueue.length > 0) sendSessions();
      return thread.call({ tickets: batch }).then(
        () => accepted(batch),
        (error: Error) => {
          throw threadError("ticket", error);
        },
      );
    },
    /** Reads one ticket by its EIP-712 hash. */
    getTicket(hash: Hex): StoredTicket | undefined {
      const row = q.getTicket.get(hash) as Row | undefined;
      return row === undefined ? undefined : ticketFromRow(row);
    },
    /** Tickets of one session in nonce order. */
    ticketsOfSession(sessionId: Hex): StoredTicket[] {
      return (q.ticketsOfSession.all(sessionId) as Row[]).map(ticketFromRow);
    },
    /** Winning tickets in `state`, sorted by sender then nonce (redemption order). */
    winnersInState(state: TicketState): StoredTicket[] {
      return (q.byState.all(state) as Row[]).map(ticketFromRow);
    },
    /** Unredeemed (pending or submitted) winning tickets per sender. */
    outstandingWinners(): Map<Address, number> {
      return new Map((q.outstanding.all() as Row[]).map((r) => [r.sender as Address, Number(r.n)]));
    },
    /** Moves tickets to `submitted` under `txHash` (recorded before the transaction is broadcast). */
    markSubmitted(hashes: readonly Hex[], txHash: Hex, now: number): void {
      changed();
      tx(() => {
        q.insertRedemption.run(txHash, now);
        for (const h of hashes) q.setState.run("submitted", txHash, null, null, now, h);
      });
    },
    /** Sets the state of tickets (with an optional reason and paid amount per ticket). */
    setTicketStates(rows: readonly { hash: Hex; state: TicketState; txHash?: Hex | undefined; error?: string | undefined; paidValue?: bigint | undefined }[], now: number): void {
      changed();
      tx(() => {
        for (const r of rows) q.setState.run(r.state, r.txHash ?? null, r.error ?? null, r.paidValue?.toString() ?? null, now, r.hash);
      });
    },
    /** Records the outcome of a redemption transaction. */
    finishRedemption(txHash: Hex, state: "confirmed" | "failed", totals: RedemptionTotals, now: number): void {
      changed();
      write(() => q.insertRedemption.run(txHash, now));
      write(() => q.confirmRedemption.run(state, totals.paid.toString(), totals.burned.toString(), totals.treasury.toString(), totals.gasUsed.toString(), totals.gasCost.toString(), now, txHash));
    },
    /** Aggregates for /status (exact: see statsCache). */
    stats(): StoreStats {
      statsCache ??= readStats();
      return { ...statsCache, byState: { ...statsCache.byState }, redeemed: { ...statsCache.redeemed } };
    },
    /**
     * Tickets stored after row `afterId`, in insertion order, at most `limit`, with what the
     * operator's per-day figures need: the operator report reads them incrementally.
     */
    scanTickets(afterId: number, limit: number): { id: number; receivedAt: number; faceValue: bigint; winProb: bigint; winning: boolean }[] {
      return (q.scan.all(afterId, limit) as Row[]).map((r) => ({
        id: Number(r.id), receivedAt: Number(r.received_at), faceValue: BigInt(r.face_value as string), winProb: BigInt(r.win_prob as string), winning: Number(r.winning) === 1,
      }));
    },
    /** Closes the database (the WAL is checkpointed by SQLite). */
    close(): void {
      sendSessions();
      void thread?.close(); // the thread closes its own connection after any batch already sent
      if (db.isOpen) db.close();
    },
  };
}

/**
 * Whether `error` is SQLite's "database or disk is full" (SQLITE_FULL = 13), also when it comes
 * back from the writer thread as text or already as StorageFullError.
 */
export function isStorageFull(error: unknown): boolean {
  if (error instanceof StorageFullError) return true;
  const e = error as { errcode?: number; message?: string; cause?: unknown } | undefined;
  return (e?.errcode !== undefined && (e.errcode & 0xff) === 13) || /database or disk is full/.test(e?.message ?? "");
}

/** The error to throw for a failed write: StorageFullError for a full disk, else the error itself. */
function storeError(error: unknown): unknown {
  return isStorageFull(error) && !(error instanceof StorageFullError) ? new StorageFullError({ cause: error }) : error;
}

/**
 * Rolls back the open transaction, if SQLite left one: on SQLITE_FULL (and IOERR, NOMEM) SQLite
 * may already have rolled the whole transaction back, and a ROLLBACK then fails with "no
 * transaction is active", which must not replace the error that says why.
 */
function rollback(db: DatabaseSync): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // nothing left to roll back
  }
}

/** Opens a connection in WAL mode with the given synchronous level and a 5 s busy timeout. */
export function openConnection(path: string, synchronous: "FULL" | "NORMAL"): DatabaseSync {
  const db = new DatabaseSync(path);
  // busy_timeout first: switching to WAL takes a lock, which another connection (the writer
  // thread's, closing and checkpointing) may hold for a moment.
  db.exec(`PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous === "NORMAL" ? "NORMAL" : "FULL"};`);
  return db;
}

/**
 * The one definition of what the store's hot writes put on disk, used inline by the store and by
 * the writer thread, one transaction per call: new sessions (each with its request's replay key,
 * deleting the sessions it replaces), or accepted tickets (each ticket, its sender's nonce and its
 * session's counters).
 */
export function prepareWrites(db: DatabaseSync): (request: WriterRequest) => void {
  const insertTicket = db.prepare(`INSERT INTO tickets (hash, session_id, sender, nonce_key, ticket, signature, recipient_rand, winning, face_value, expiry, state, received_at, updated_at)
                                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const setNonce = db.prepare(`INSERT INTO sender_nonces (sender, last_nonce) VALUES (?, ?) ON CONFLICT (sender) DO UPDATE SET last_nonce = excluded.last_nonce`);
  const counters = db.prepare(`UPDATE sessions SET served = ?, paid = ?, last_active = ? WHERE id = ?`);
  const insertSession = db.prepare(`INSERT INTO sessions (id, sender, rand, rand_hash, served, paid, created_at, last_active, token_hash, service) VALUES (?, ?, ?, ?, '0', '0', ?, ?, ?, ?)`);
  const deleteSession = db.prepare(`DELETE FROM sessions WHERE id = ?`);
  const insertRequest = db.prepare(`INSERT INTO session_requests (digest, expires_at) VALUES (?, ?)`);
  const pruneRequests = db.prepare(`DELETE FROM session_requests WHERE expires_at < ?`);
  return (request) => {
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw storeError(error);
    }
    try {
      if ("sessions" in request) {
        let pruned = false;
        for (const r of request.sessions) {
          // Sessions the new one replaces (sessionBook's per-sender cap) go in the same transaction.
          for (const id of r.forget ?? []) deleteSession.run(id);
          if (r.request !== undefined) {
            if (!pruned) pruneRequests.run(Math.floor(r.now / 1000));
            pruned = true;
            insertRequest.run(r.request.digest, r.request.expiresAt);
          }
          insertSession.run(r.id, r.sender, r.rand.toString(), r.randHash, r.now, r.now, r.tokenHash, r.service ?? "cdn");
        }
      } else {
        for (const a of request.tickets) {
          insertTicket.run(
            a.hash, a.sessionId, a.ticket.sender, nonceKey(a.ticket.senderNonce), JSON.stringify(serializeTicket(a.ticket)),
            a.signature, a.recipientRand.toString(), a.winning ? 1 : 0, a.ticket.faceValue.toString(), Number(a.ticket.expiry),
            a.winning ? "pending" : "losing", a.now, a.now,
          );
          setNonce.run(a.ticket.sender, a.ticket.senderNonce.toString());
          counters.run(a.servedBytes.toString(), a.ticket.cumulativeBytes.toString(), a.now, a.sessionId);
        }
      }
      db.exec("COMMIT");
    } catch (error) {
      rollback(db);
      throw storeError(error);
    }
  };
}
