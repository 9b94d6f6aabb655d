/**
 * Business hours of a channel: when it may be offered, in the channel's own
 * IANA time zone (docs/pacing.md). Weekly ranges are `[start, end)` in local
 * time, days missing from the week are closed, and `closed` dates are whole
 * local days. Daylight saving time is the time zone's business: a local time
 * is what the zone's wall clock reads (`Intl` knows its offsets), so a range
 * that starts at 02:30 on a night that jumps from 02:00 to 03:00 opens at the
 * jump, and on a night that repeats 02:00–03:00 it closes when the clock goes
 * back to 02:00 and opens again at the second 02:30.
 *
 * Pure functions of the hours and an instant (ms since the epoch): the core
 * decides with them, the stores never parse time zones.
 */

import { WEEKDAYS, isCalendarDate, minutesOf, type Weekday } from '../protocol/channels.js';

/** Hours as the rule reads them: the stored settings (`HoursInput` of the protocol) or any object of that shape. */
export interface HoursInput {
  /** An IANA time zone name, e.g. `Europe/Paris`. */
  timeZone: string;
  /** Open ranges per day, `["HH:MM", "HH:MM"]`, `[start, end)`; a day that is missing or empty is closed. */
  weekly: Partial<Record<Weekday, readonly (readonly [string, string])[]>>;
  /** Whole local days closed whatever the week says, `YYYY-MM-DD`. */
  closed?: readonly string[];
}

export interface HoursState {
  open: boolean;
  /** When closed: the next instant it opens (null when no range opens within a year). */
  opensAt: number | null;
  /** When open: the instant the open period ends, across midnight (null when it stays open for two weeks or more). */
  closesAt: number | null;
}

const MINUTE_MS = 60_000;
/** How far ahead an opening is looked for: a year of closed dates is the longest closure worth describing. */
const OPENS_HORIZON_DAYS = 370;
/** How far ahead a closing is looked for; beyond it a channel counts as open for good. */
const CLOSES_HORIZON_DAYS = 14;

/** IANA names are words joined by slashes; offsets (`+01:00`) and empty names are not names. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter for `timeZone`, or null when it is not a time zone `Intl` knows by an IANA name. */
function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatters.get(timeZone);
  if (formatter) return formatter;
  if (!ZONE_NAME.test(timeZone)) return null;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  } catch {
    return null;
  }
  if (formatters.size > 500) formatters.clear();
  formatters.set(timeZone, formatter);
  return formatter;
}

/** A local calendar day, counted in whole days since 1970-01-01 (so days add and compare as numbers). */
type DayNumber = number;

const DAY_MS = 86_400_000;
/** DST jumps are months apart in every zone; looking at most a week ahead at a time never steps over two. */
const CHUNK_MS = 7 * DAY_MS;

/** The zone's wall clock at an instant, as ms since 1970 read as if it were UTC (`instant + offset`). */
function wallAt(formatter: Intl.DateTimeFormat, at: number): number {
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(at)) parts[part.type] = part.value;
  const wholeSeconds = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  // Offsets are whole seconds, so the instant's milliseconds carry over to the wall time.
  return wholeSeconds + (((at % 1000) + 1000) % 1000);
}

/** The hours compiled for walking: each local day's ranges in minutes. */
class Week {
  readonly #byWeekday: [number, number][][];
  readonly #closed: ReadonlySet<DayNumber>;

  constructor(hours: HoursInput) {
    this.#byWeekday = WEEKDAYS.map((weekday) => {
      const minutes: [number, number][] = [];
      for (const [start, end] of hours.weekly[weekday] ?? []) {
        const from = minutesOf(start);
        const to = minutesOf(end);
        if (from !== null && to !== null && from < to) minutes.push([from, to]);
      }
      return minutes.sort((a, b) => a[0] - b[0]);
    });
    this.#closed = new Set(
      (hours.closed ?? []).filter(isCalendarDate).map((date) => Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS)),
    );
  }

  rangesOn(day: DayNumber): readonly [number, number][] {
    if (this.#closed.has(day)) return [];
    // 1970-01-01 was a Thursday; Monday is 0.
    return this.#byWeekday[(((day + 3) % 7) + 7) % 7]!;
  }

  /** Open when the wall clock reads `wall`? */
  openAt(wall: number): boolean {
    const day = Math.floor(wall / DAY_MS);
    const minute = Math.floor((wall - day * DAY_MS) / MINUTE_MS);
    return this.rangesOn(day).some(([from, to]) => from <= minute && minute < to);
  }

  /** The first wall time in (after, until] at which the answer is not `open`, or null. Pure arithmetic: no time zone. */
  nextChange(after: number, open: boolean, until: number): number | null {
    for (let day = Math.floor(after / DAY_MS); day * DAY_MS <= until; day++) {
      const midnight = day * DAY_MS;
      const points = [midnight];
      for (const [from, to] of this.rangesOn(day)) points.push(midnight + from * MINUTE_MS, midnight + to * MINUTE_MS);
      points.sort((a, b) => a - b);
      for (const point of points) {
        if (point > after && point <= until && this.openAt(point) !== open) return point;
      }
    }
    return null;
  }
}

/**
 * The first instant after `now` at which the answer differs from `open`, or
 * null within `horizonDays`. It finds the next change on the wall clock with
 * the offset of `now`, then asks the zone for its offset there: where a DST
 * jump lies between, it stops at the jump and reads the clock there, so a
 * range that starts or ends in a skipped or repeated hour is answered as the
 * clock reads it.
 */
function nextChange(
  week: Week,
  formatter: Intl.DateTimeFormat,
  now: number,
  open: boolean,
  horizonDays: number,
): number | null {
  const horizon = now + horizonDays * DAY_MS;
  let at = now;
  let offset = wallAt(formatter, at) - at;
  // Hours that never change within the horizon (a day's margin for the offset) need no more of the zone.
  if (week.nextChange(at + offset, open, horizon + offset + DAY_MS) === null) return null;
  while (at < horizon) {
    const chunkEnd = Math.min(at + CHUNK_MS, horizon);
    const wall = week.nextChange(at + offset, open, chunkEnd + offset);
    const target = wall === null ? chunkEnd : wall - offset;
    const offsetThere = wallAt(formatter, target) - target;
    if (offsetThere !== offset) {
      // A DST jump before the target: read the clock right after it, and go on from there.
      at = offsetChange(formatter, at, target, offset);
      offset = wallAt(formatter, at) - at;
      if (week.openAt(at + offset) !== open) return at;
      continue;
    }
    if (wall !== null) return target;
    at = chunkEnd;
  }
  return null;
}

/** The first instant in (from, to] whose offset is not `offset`, to the second (offsets change on whole seconds). */
function offsetChange(formatter: Intl.DateTimeFormat, from: number, to: number, offset: number): number {
  let low = from;
  let high = to;
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (wallAt(formatter, middle) - middle === offset) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * Whether the hours are open at `now` (the zone's wall clock reads a time in
 * a range of that local day), and when that next changes. Hours in a time
 * zone `Intl` does not know are closed (fail safe: validation refuses such
 * hours before they are stored).
 */
export function hoursAt(hours: HoursInput, now: number): HoursState {
  const formatter = formatterFor(hours.timeZone);
  if (!formatter) return { open: false, opensAt: null, closesAt: null };
  const week = new Week(hours);
  const open = week.openAt(wallAt(formatter, now));
  if (open) return { open, opensAt: null, closesAt: nextChange(week, formatter, now, true, CLOSES_HORIZON_DAYS) };
  return { open, opensAt: nextChange(week, formatter, now, false, OPENS_HORIZON_DAYS), closesAt: null };
}
