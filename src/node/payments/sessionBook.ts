import { randomBytes } from "node:crypto";
import { toHex, type Address, type Hex } from "viem";
import type { Service } from "../../protocol/wire.ts";
import { recipientRandHash } from "../../protocol/winningTicket.ts";
import { InvalidSessionTokenError, TooManySessionsError, UnknownSessionError } from "./errors.ts";
import { createSessionToken, hashSessionToken, sessionTokenMatches } from "./sessionToken.ts";
import type { TicketStore } from "./ticketStore.ts";

/** Milliseconds since the epoch; injected so tests control time. */
export type Clock = { now(): number };

/** A live session: the stored record plus what only lives in memory. */
export type SessionState = {
  id: Hex;
  sender: Address;
  rand: bigint;
  randHash: Hex;
  servedBytes: bigint;
  paidBytes: bigint;
  /** Bytes admitted but not yet reported as served. */
  inFlightBytes: bigint;
  /**
   * Bytes a ticket may acknowledge beyond `servedBytes`. Zero for sessions opened in this process;
   * one credit window for sessions loaded after a restart, because served counters are flushed
   * about once a second and a crash can lose the last increments (never more than one window:
   * the gate never lets served - paid exceed it).
   */
  slackBytes: bigint;
  /**
   * Bytes the credit window counts as paid even before tickets cover them: the served count a
   * session was loaded with after a restart (0 for sessions opened in this process). Bytes a
   * crashed node counted as served may never have reached the consumer (a response cut by the
   * crash), and a consumer pays only what it verified; without this, those bytes would hold the
   * sender's window here for good (402 on every new session). The node forgoes at most one window
   * per sender per restart (the gate never let more be unpaid), and tickets may still pay them.
   */
  creditBaseBytes: bigint;
  lastActive: number;
  dirty: boolean;
  /** sha256 of the secret session token; undefined for a session from before tokens (unusable). */
  tokenHash: Hex | undefined;
  /** What the session pays for: content from the edge, or relayed traffic (never both). */
  service: Service;
};

/** Sessions of the node, in memory and backed by the store. */
export type SessionBook = ReturnType<typeof createSessionBook>;

function freshRand(): bigint {
  return BigInt(toHex(randomBytes(32)));
}

/** How long a session may sit idle before `forgetIdle` drops it (payments.md §1.2: 7 days). */
export const SESSION_IDLE_MS = 7 * 24 * 3600 * 1000;

/**
 * Sessions one sender may hold on a node (payments.md §4.1). A client needs one per node and
 * service at a time; the cap keeps a funded sender that opens sessions in a loop from growing the
 * node's memory and disk for the 7 days sessions otherwise live.
 */
export const MAX_SESSIONS_PER_SENDER = 64;

/** Sessions one sender may open on a node at once, before `SESSION_OPENS_PER_MINUTE` applies. */
export const SESSION_OPEN_BURST = 16;
/** How fast a sender may open sessions after its burst (payments.md §4.1). */
export const SESSION_OPENS_PER_MINUTE = 60;

/**
 * Loads stored sessions and returns the book; `creditWindowBytes` sizes the restart slack,
 * `maxPerSender` caps each sender's sessions.
 */
export function createSessionBook({ store, clock, creditWindowBytes, idleMs = SESSION_IDLE_MS, maxPerSender = MAX_SESSIONS_PER_SENDER }: { store: TicketStore; clock: Clock; creditWindowBytes: bigint; idleMs?: number; maxPerSender?: number }) {
  const sessions = new Map<Hex, SessionState>();
  /** Who waits for a sender's credit window to open (relay tunnels paused at the window). */
  const creditWaiters = new Map<Address, Set<() => void>>();
  /** By sha256 of the token: a lookup keyed on the hash reveals nothing usable about the token. */
  const byTokenHash = new Map<Hex, SessionState>();
  const bySender = new Map<Address, SessionState[]>();
  const index = (s: SessionState) => {
    sessions.set(s.id, s);
    // A session from before tokens can never be used again (no one holds a token for it), so its
    // unpaid bytes must not hold its sender's credit window: the new session would get 402
    // forever. The node forgoes at most one window per such sender, once, at the upgrade.
    if (s.tokenHash === undefined) return;
    byTokenHash.set(s.tokenHash, s);
    const list = bySender.get(s.sender);
    if (list === undefined) bySender.set(s.sender, [s]);
    else list.push(s);
  };
  /** Drops `s` from memory (the caller deletes it from disk). */
  const unindex = (s: SessionState) => {
    sessions.delete(s.id);
    if (s.tokenHash !== undefined) byTokenHash.delete(s.tokenHash);
    const list = bySender.get(s.sender);
    const rest = list?.filter((x) => x !== s) ?? [];
    if (rest.length > 0) bySender.set(s.sender, rest);
    else bySender.delete(s.sender);
  };
  for (const r of store.allSessions()) index({ ...r, inFlightBytes: 0n, slackBytes: creditWindowBytes, creditBaseBytes: r.servedBytes, dirty: false });
  /**
   * The session of `sender` a new one replaces when the sender is at the cap: its least recently
   * active session that holds nothing of the sender's credit window (letting go of one that owes
   * bytes would hand the sender a fresh window; bytes a restart forgave, `creditBaseBytes`, are
   * not owed). Undefined below the cap; TooManySessionsError when every session still owes bytes.
   */
  const replaceable = (sender: Address): SessionState | undefined => {
    const list = bySender.get(sender) ?? [];
    if (list.length < maxPerSender) return undefined;
    let oldest: SessionState | undefined;
    for (const s of list) {
      if (s.inFlightBytes > 0n || s.servedBytes > (s.paidBytes > s.creditBaseBytes ? s.paidBytes : s.creditBaseBytes)) continue;
      if (oldest === undefined || s.lastActive < oldest.lastActive) oldest = s;
    }
    if (oldest === undefined) throw new TooManySessionsError({ sender, limit: maxPerSender });
    return oldest;
  };
  /**
   * Opens a new session for `sender` with a fresh secret recipientRand and session token, durably
   * (only the token's hash is stored); `request` is the signed request's replay key, stored in the
   * same transaction. The token is returned once, here, and kept nowhere. At the per-sender cap
   * the sender's least recently used settled session is let go in the same transaction (like an
   * idle one: its tickets stay), or TooManySessionsError is thrown.
   *
   * With the store's writer thread the write is asynchronous: the session counts against its
   * sender's cap at once, and `durable` resolves once it is on disk (hand out the token only then);
   * if the write fails, the session is dropped, the one it replaced comes back, and `durable`
   * rejects. Inline, the write is done when this returns and `durable` is undefined.
   */
  const openWithToken = (sender: Address, request?: { digest: Hex; expiresAt: number }, service: Service = "cdn"): { session: SessionState; token: Hex; durable: Promise<void> | undefined } => {
    const replaced = replaceable(sender);
    const id = toHex(randomBytes(32));
    const rand = freshRand();
    const randHash = recipientRandHash(rand);
    const { token, hash: tokenHash } = createSessionToken();
    const now = clock.now();
    const written = store.createSession({ id, sender, rand, randHash, tokenHash, now, service, ...(request ? { request } : {}), ...(replaced ? { forget: [replaced.id] } : {}) });
    if (replaced !== undefined) unindex(replaced);
    const session: SessionState = {
      id, sender, rand, randHash, servedBytes: 0n, paidBytes: 0n, inFlightBytes: 0n, slackBytes: 0n, creditBaseBytes: 0n, lastActive: now, dirty: false, tokenHash, service,
    };
    index(session);
    const durable = written?.catch((error: unknown) => {
      unindex(session);
      if (replaced !== undefined) index(replaced);
      throw error;
    });
    return { session, token, durable };
  };
  return {
    openWithToken,
    /** Throws TooManySessionsError if `sender` could not open another session now (checked before any chain read). */
    assertRoom(sender: Address): void {
      replaceable(sender);
    },
    /**
     * Opens a session and drops its token: for in-process callers that hand tickets to the intake
     * directly (tests, benchmarks). Nobody can present such a session over HTTP.
     */
    open(sender: Address, request?: { digest: Hex; expiresAt: number }, service: Service = "cdn"): SessionState {
      const { session, durable } = openWithToken(sender, request, service);
      // Its tickets reach the writer thread after its row (ticketStore), so nothing waits here; a
      // failed write has already dropped the session.
      durable?.catch(() => {});
      return session;
    },
    /** The session whose token is `token` (parsed, lower-case hex), if any. */
    byToken(token: Hex): SessionState | undefined {
      return byTokenHash.get(hashSessionToken(token));
    },
    /**
     * The session `id`, if `token` is its token (constant-time comparison). Throws
     * UnknownSessionError for an unknown id and InvalidSessionTokenError for a missing or wrong
     * token, or a session from before tokens.
     */
    authorize(id: string, token: Hex | undefined): SessionState {
      const s = sessions.get(id.toLowerCase() as Hex);
      if (s === undefined) throw new UnknownSessionError({ sessionId: id });
      if (token === undefined) throw new InvalidSessionTokenError({ reason: "missing" });
      if (s.tokenHash === undefined) throw new InvalidSessionTokenError({ reason: "legacy" });
      if (!sessionTokenMatches(s.tokenHash, token)) throw new InvalidSessionTokenError({ reason: "wrong" });
      return s;
    },
    /** The session with id `id` (any case), if known. */
    get(id: string): SessionState | undefined {
      return sessions.get(id.toLowerCase() as Hex);
    },
    /**
     * Unpaid bytes (served + in flight - paid) over all sessions of `sender`. The credit window
     * applies per sender, not per session: opening more sessions buys no more unpaid bytes. Bytes
     * served before a restart and still unpaid are not counted (`creditBaseBytes`).
     */
    unpaidBytesOf(sender: Address): bigint {
      let unpaid = 0n;
      for (const s of bySender.get(sender) ?? []) {
        const u = s.servedBytes + s.inFlightBytes - (s.paidBytes > s.creditBaseBytes ? s.paidBytes : s.creditBaseBytes);
        if (u > 0n) unpaid += u;
      }
      return unpaid;
    },
    /**
     * Resolves the next time `sender`'s credit window may have opened (`creditFreed`) or `signal`
     * aborts, with true; or with false once `timeoutMs` passed first. Callers re-check
     * `unpaidBytesOf` after it: a wake-up is a hint, not a grant. One timer and one listener per
     * wait, both dropped at the wake-up: a tunnel stalls at the window about once per ticket, and
     * composing signals (AbortSignal.any/timeout) for each stall kept a 30 s timer and a dependent
     * signal alive per stall, which cost the relay more in garbage collection than it moved bytes.
     */
    waitForCredit(sender: Address, signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve(true);
        let set = creditWaiters.get(sender);
        if (set === undefined) creditWaiters.set(sender, (set = new Set()));
        let timer: NodeJS.Timeout | undefined;
        const finish = (woken: boolean) => {
          signal?.removeEventListener("abort", wake);
          if (timer !== undefined) clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0 && creditWaiters.get(sender) === set) creditWaiters.delete(sender);
          resolve(woken);
        };
        const wake = () => finish(true);
        set.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(() => finish(false), timeoutMs);
      });
    },
    /** Wakes whoever waits for `sender`'s credit: a ticket moved paidBytes, or admitted bytes settled. */
    creditFreed(sender: Address): void {
      const set = creditWaiters.get(sender);
      if (set === undefined) return;
      for (const wake of [...set]) wake();
    },
    /**
     * Forgets sessions idle for `idleMs` (nothing served, paid or in flight since), in memory and
     * on disk, so a long-running node's memory follows its recent consumers rather than every
     * consumer it ever had. Their tickets stay stored and are redeemed as usual (a ticket carries
     * its own recipientRand). A forgotten session's unpaid bytes no longer hold its sender's credit
     * window: a sender that stops paying gets at most one window per idle period. Its client gets
     * 404 / 401 and opens a new session. Returns how many were forgotten.
     */
    forgetIdle(): number {
      const cutoff = clock.now() - idleMs;
      const idle = [...sessions.values()].filter((s) => s.lastActive < cutoff && s.inFlightBytes === 0n);
      if (idle.length === 0) return 0;
      // Counters first, so a session's last served bytes are on disk if the delete fails.
      store.flushCounters(idle.filter((s) => s.dirty));
      store.deleteSessions(idle.map((s) => s.id));
      for (const s of idle) unindex(s);
      return idle.length;
    },
    /** Replaces the session's recipientRand, durably; returns the new hash. */
    rotate(id: Hex): Hex | undefined {
      const s = sessions.get(id);
      if (s === undefined) return undefined;
      const rand = freshRand();
      const randHash = recipientRandHash(rand);
      store.rotateRand(id, rand, randHash);
      s.rand = rand;
      s.randHash = randHash;
      return randHash;
    },
    /** Writes changed served/paid counters to the store. */
    flush(): void {
      const rows = [...sessions.values()].filter((s) => s.dirty);
      store.flushCounters(rows);
      for (const s of rows) s.dirty = false;
    },
    /** Sessions with traffic since `since` (unix ms) or bytes in flight: what `limits.maxSessions` counts. */
    countActive(since: number): number {
      let n = 0;
      for (const s of sessions.values()) if (s.lastActive >= since || s.inFlightBytes > 0n) n++;
      return n;
    },
    /** Every session (for status). */
    all(): IterableIterator<SessionState> {
      return sessions.values();
    },
  };
}
