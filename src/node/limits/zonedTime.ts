// Wall-clock arithmetic in an IANA time zone with nothing but Intl (no tz database of our own):
// the operator's schedule and quota reset day are in their local time, the node's clock is UTC ms.

/** A local date and time in some time zone (month 1-12, hour 0-23). */
export type ZonedParts = { year: number; month: number; day: number; hour: number; minute: number; second: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True if `timeZone` is an IANA zone this runtime knows ("UTC", "Europe/Berlin"). */
export function isTimeZone(timeZone: string): boolean {
  if (timeZone === "UTC") return true;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local date and time at `ms` (unix ms) in `timeZone`. */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  // UTC, the default, needs no Intl: a formatter maps several MB of ICU data into the process.
  if (timeZone === "UTC") {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  const p: Record<string, number> = {};
  for (const { type, value } of formatter(timeZone).formatToParts(ms)) if (type !== "literal") p[type] = Number(value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour!, minute: p.minute!, second: p.second! };
}

/** The zone's offset from UTC at instant `ms`, in ms (Berlin in winter: +3,600,000). */
function offsetAt(ms: number, timeZone: string): number {
  const z = zonedParts(ms, timeZone);
  return Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second) - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant (unix ms) when the wall clock in `timeZone` shows this local time. `day` may exceed
 * the month and `hour` may be 24 (Date.UTC normalises). Around a DST change the answer may be off
 * by the jump: a local time the jump skips comes out up to an hour late, and a repeated local time
 * maps to one of its two instants (a schedule boundary moves by at most an hour, twice a year).
 */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // Two rounds: the offset at the first guess may differ from the offset at the answer (DST).
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return Math.max(first, second);
}

/** Days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
