import { randomBytes } from "node:crypto";
import { toHex, type Address, type Hex } from "viem";
import { recipientRandHash } from "../../protocol/winningTicket.ts";
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
  lastActive: number;
  dirty: boolean;
};

/** Sessions of the node, in memory and backed by the store. */
export type SessionBook = ReturnType<typeof createSessionBook>;

function freshRand(): bigint {
  return BigInt(toHex(randomBytes(32)));
}

/** Loads stored sessions and returns the book; `creditWindowBytes` sizes the restart slack. */
export function createSessionBook({ store, clock, creditWindowBytes }: { store: TicketStore; clock: Clock; creditWindowBytes: bigint }) {
  const sessions = new Map<Hex, SessionState>();
  const bySender = new Map<Address, SessionState[]>();
  const index = (s: SessionState) => {
    sessions.set(s.id, s);
    const list = bySender.get(s.sender);
    if (list === undefined) bySender.set(s.sender, [s]);
    else list.push(s);
  };
  for (const r of store.allSessions()) index({ ...r, inFlightBytes: 0n, slackBytes: creditWindowBytes, dirty: false });
  return {
    /**
     * Opens a new session for `sender` with a fresh secret recipientRand, durably; `request` is
     * the signed request's replay key, stored in the same transaction.
     */
    open(sender: Address, request?: { digest: Hex; expiresAt: number }): SessionState {
      const id = toHex(randomBytes(32));
      const rand = freshRand();
      const randHash = recipientRandHash(rand);
      const now = clock.now();
      store.createSession({ id, sender, rand, randHash, now, ...(request ? { request } : {}) });
      const state: SessionState = { id, sender, rand, randHash, servedBytes: 0n, paidBytes: 0n, inFlightBytes: 0n, slackBytes: 0n, lastActive: now, dirty: false };
      index(state);
      return state;
    },
    /** The session with id `id` (any case), if known. */
    get(id: string): SessionState | undefined {
      return sessions.get(id.toLowerCase() as Hex);
    },
    /**
     * Unpaid bytes (served + in flight - paid) over all sessions of `sender`. The credit window
     * applies per sender, not per session: opening more sessions buys no more unpaid bytes.
     */
    unpaidBytesOf(sender: Address): bigint {
      let unpaid = 0n;
      for (const s of bySender.get(sender) ?? []) {
        const u = s.servedBytes + s.inFlightBytes - s.paidBytes;
        if (u > 0n) unpaid += u;
      }
      return unpaid;
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
    /** Every session (for status). */
    all(): IterableIterator<SessionState> {
      return sessions.values();
    },
  };
}
