import { zonedParts, zonedToUtc } from "./zonedTime.ts";

/** One daily window of local time, in minutes after midnight; `to` may be below `from` (wraps midnight). */
export type HoursWindow = { from: number; to: number };

/** Whether the schedule is open at an instant, and until when that holds (unix ms; Infinity: forever). */
export type ScheduleState = { open: boolean; until: number };

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/**
 * Parses "HH:MM-HH:MM" (local time; "22:00-06:00" wraps midnight, "00:00-24:00" is all day).
 * Throws an Error naming the format for anything else.
 */
export function parseHoursWindow(text: string): HoursWindow {
  const m = WINDOW.exec(text.trim());
  if (m === null) throw new Error(`"${text}" is not a window like "08:00-23:00" (local time, 24 h)`);
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (to > 24 * 60) throw new Error(`"${text}": a window ends at 24:00 at the latest`);
  if (from === to) throw new Error(`"${text}" is empty: use "00:00-24:00" for all day`);
  return { from, to };
}

function inWindow(minute: number, w: HoursWindow): boolean {
  return w.from < w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
}

/**
 * The daily hours during which the node takes new work, in `timeZone`. `at(ms)` says whether the
 * schedule is open and until when, so callers can cache the answer instead of formatting a date
 * for every chunk they send.
 */
export function createHoursSchedule(windows: readonly HoursWindow[], timeZone: string) {
  const openAt = (ms: number): boolean => {
    const z = zonedParts(ms, timeZone);
    const minute = z.hour * 60 + z.minute;
    return windows.some((w) => inWindow(minute, w));
  };
  return {
    at(ms: number): ScheduleState {
      const open = openAt(ms);
      // Every boundary of every window from yesterday to two days ahead (local), in time order:
      // the first one at which the state flips is when this answer stops holding.
      const z = zonedParts(ms, timeZone);
      const boundaries: number[] = [];
      for (let d = -1; d <= 2; d++) {
        for (const w of windows) {
          for (const m of [w.from, w.to]) boundaries.push(zonedToUtc(z.year, z.month, z.day + d, Math.floor(m / 60), m % 60, timeZone));
        }
      }
      boundaries.sort((a, b) => a - b);
      for (const b of boundaries) if (b > ms && openAt(b) !== open) return { open, until: b };
      return { open, until: Infinity };
    },
  };
}
