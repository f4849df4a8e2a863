import type { OfferAvailability } from "../../protocol/wire.ts";
import { createHoursSchedule, parseHoursWindow, type ScheduleState } from "./hoursSchedule.ts";
import { LimitReachedError, type LimitName } from "./limitReachedError.ts";
import { quotaPeriod, type QuotaPeriod } from "./quotaPeriod.ts";
import { createTokenBucket } from "./tokenBucket.ts";

/** The operator's limits as configured (node config `limits`); every limit is optional. */
export type LimitsConfig = {
  /** IANA zone of the schedule's hours and the quota's reset day. */
  timeZone: string;
  /** Bytes per second, delivery and relay together. */
  ratePerSecond?: bigint | undefined;
  /** Token bucket capacity; default a quarter second at the rate, at least 64 KiB. */
  burstBytes?: bigint | undefined;
  /** Bytes per month, resetting at local midnight of `resetDay`. */
  quota?: { bytes: bigint; resetDay: number } | undefined;
  /** Daily windows "HH:MM-HH:MM" (local) during which the node takes new work. */
  schedule?: readonly string[] | undefined;
  /** Most sessions active at once (activity in the last SESSION_ACTIVE_MS). */
  maxSessions?: number | undefined;
};

/** Kinds of new work an admission check is for. */
export type Work = "session" | "content" | "tunnel";

/**
 * What a paced writer (the edge's body writer, the relay's tunnel pump) uses per chunk: `take`
 * before sending, `refund` for bytes taken but never sent. Absent when no per-byte limit is set,
 * so the unlimited hot path has no await and no allocation.
 */
export type Pacer = {
  /**
   * Resolves when `bytes` may be sent (the shared rate) and counts them against the quota; rejects
   * with LimitReachedError when the quota is used up or the schedule closed (the writer cuts).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Gives back bytes that were taken but not sent (a client hung up). */
  refund(bytes: number): void;
};

/** Durable quota usage per period (the operator store). */
export type QuotaStore = {
  quotaUsed(periodStart: number): bigint;
  saveQuotaUsed(periodStart: number, bytes: bigint): void;
};

/** One configured limit, as the dashboard, `node status` and /metrics show it. */
export type LimitStatus =
  | { limit: "rate"; ratePerSecond: string; burstBytes: string; backlogSeconds: number; holding: boolean }
  | { limit: "quota"; bytes: string; used: string; periodStart: number; periodEnd: number; holding: boolean }
  | { limit: "schedule"; timeZone: string; windows: string[]; open: boolean; until: number | null; holding: boolean }
  | { limit: "sessions"; max: number; active: number; holding: boolean };


/** Sessions active within this window count against `maxSessions`. */
export const SESSION_ACTIVE_MS = 5 * 60_000;
/** New content and tunnels are refused while more than this many seconds of traffic wait for the rate. */
export const MAX_RATE_BACKLOG_SECONDS = 10;

const ready: Promise<void> = Promise.resolve();
const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** The node's limits; the running object the edge, the session API and the relay share. */
export type Limits = ReturnType<typeof createLimits>;

/**
 * The operator's limits, enforced (docs/protocol/payments.md §3.1): an admission check for new work
 * (`admit`), a pacer shared by every writer (`pacer`), the node's availability for /offer and the
 * state of each limit. Quota usage is kept per period in `store` (flushed by `flush`).
 */
export function createLimits({ config, clock, store, activeSessions }: {
  config: LimitsConfig;
  clock: { now(): number };
  store: QuotaStore;
  /** Sessions active within SESSION_ACTIVE_MS (or with bytes in flight). */
  activeSessions: () => number;
}) {
  const tz = config.timeZone;
  const rate = config.ratePerSecond;
  const burst = config.burstBytes ?? (rate !== undefined && rate / 4n > 65_536n ? rate / 4n : 65_536n);
  const bucket = rate === undefined ? undefined : createTokenBucket({ ratePerSecond: Number(rate), burstBytes: Number(burst), clock });
  const windows = config.schedule ?? [];
  const schedule = config.schedule === undefined ? undefined : createHoursSchedule(windows.map(parseHoursWindow), tz);
  let scheduleState: ScheduleState = { open: true, until: -Infinity };
  const quota = config.quota;
  let period: QuotaPeriod = { start: 0, end: -Infinity };
  let used = 0n;
  let saved = 0n;

  const scheduleAt = (now: number): ScheduleState => {
    if (schedule !== undefined && now >= scheduleState.until) scheduleState = schedule.at(now);
    return scheduleState;
  };
  const rollQuota = (now: number): void => {
    if (quota === undefined || now < period.end) return;
    if (period.start !== 0) flush();
    period = quotaPeriod(now, quota.resetDay, tz);
    used = saved = store.quotaUsed(period.start);
  };
  const refusal = (limit: LimitName, reason: string, retryAfterSeconds: number) => new LimitReachedError({ limit, reason, retryAfterSeconds });

  /** The first limit that refuses `work` now, or undefined. */
  function check(work: Work): LimitReachedError | undefined {
    const now = clock.now();
    if (schedule !== undefined) {
      const s = scheduleAt(now);
      if (!s.open) return refusal("schedule", `outside the hours ${windows.join(", ")} (${tz})`, seconds(s.until - now));
    }
    if (quota !== undefined) {
      rollQuota(now);
      if (used >= quota.bytes) {
        return refusal("quota", `${used} of ${quota.bytes} bytes this month are used; the quota resets at ${new Date(period.end).toISOString()}`, seconds(period.end - now));
      }
    }
    if (work === "session" && config.maxSessions !== undefined) {
      const active = activeSessions();
      if (active >= config.maxSessions) return refusal("sessions", `${active} sessions are active, the most allowed is ${config.maxSessions}`, seconds(SESSION_ACTIVE_MS / 5));
    }
    if (work !== "session" && bucket !== undefined) {
      const backlog = bucket.backlogSeconds();
      if (backlog > MAX_RATE_BACKLOG_SECONDS) return refusal("rate", `${backlog.toFixed(1)} s of traffic are waiting for the rate limit`, seconds(backlog * 1000));
    }
    return undefined;
  }

  function flush(): void {
    if (quota === undefined || period.start === 0 || used === saved) return;
    store.saveQuotaUsed(period.start, used);
    saved = used;
  }

  const refund = (bytes: number): void => {
    if (quota === undefined || bytes <= 0) return;
    // A refund after a period rolled over must not make the new period negative.
    const b = BigInt(bytes);
    used = used > b ? used - b : 0n;
  };
  const pacer: Pacer | undefined =
    bucket === undefined && quota === undefined && schedule === undefined
      ? undefined
      : {
          take(bytes, signal) {
            const now = clock.now();
            if (schedule !== undefined) {
              const s = scheduleAt(now);
              if (!s.open) return Promise.reject(refusal("schedule", `the hours ${windows.join(", ")} (${tz}) ended`, seconds(s.until - now)));
            }
            if (quota !== undefined) {
              rollQuota(now);
              // Checked before counting: at most one chunk goes past the quota, whatever the concurrency.
              if (used >= quota.bytes) return Promise.reject(refusal("quota", `the monthly quota of ${quota.bytes} bytes is used up`, seconds(period.end - now)));
              used += BigInt(bytes);
            }
            if (bucket === undefined) return ready;
            const wait = bucket.take(bytes, signal);
            // An aborted wait sends nothing: its bytes go back to the quota too.
            return quota === undefined ? wait : wait.catch((error: unknown) => {
              refund(bytes);
              throw error;
            });
          },
          refund,
        };

  return {
    pacer,
    /** Throws LimitReachedError if a limit refuses new work of this kind now. */
    admit(work: Work): void {
      const error = check(work);
      if (error !== undefined) throw error;
    },
    /** Whether a new session would be admitted now, and if not which limit holds (GET /offer). */
    availability(): OfferAvailability {
      const e = check("session");
      return e === undefined ? { available: true } : { available: false, unavailable: { limit: e.limit, reason: e.reason, retryAfterSeconds: e.retryAfterSeconds } };
    },
    /** Every configured limit with its setting, usage and whether it holds now. */
    state(): LimitStatus[] {
      const now = clock.now();
      const out: LimitStatus[] = [];
      if (bucket !== undefined) {
        const backlogSeconds = bucket.backlogSeconds();
        out.push({ limit: "rate", ratePerSecond: rate!.toString(), burstBytes: burst.toString(), backlogSeconds, holding: backlogSeconds > MAX_RATE_BACKLOG_SECONDS });
      }
      if (quota !== undefined) {
        rollQuota(now);
        out.push({ limit: "quota", bytes: quota.bytes.toString(), used: used.toString(), periodStart: period.start, periodEnd: period.end, holding: used >= quota.bytes });
      }
      if (schedule !== undefined) {
        const s = scheduleAt(now);
        out.push({ limit: "schedule", timeZone: tz, windows: [...windows], open: s.open, until: Number.isFinite(s.until) ? s.until : null, holding: !s.open });
      }
      if (config.maxSessions !== undefined) {
        const active = activeSessions();
        out.push({ limit: "sessions", max: config.maxSessions, active, holding: active >= config.maxSessions });
      }
      return out;
    },
    /** Writes the quota usage of the current period to the store (called about once a second). */
    flush,
  };
}
