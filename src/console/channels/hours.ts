/**
 * A channel's business hours as the Channels view writes them
 * (docs/pacing.md#business-hours): the week in a line, the closed dates, and
 * when the channel next opens or closes. Pure functions, tested without a page.
 */
import type { BusinessHours, Weekday } from '../../protocol/channels.js';

/** The days of the week as hours name them, Monday first, with the words the view writes. */
export const DAYS = [
  { day: 'mon', name: 'Monday', short: 'Mon' },
  { day: 'tue', name: 'Tuesday', short: 'Tue' },
  { day: 'wed', name: 'Wednesday', short: 'Wed' },
  { day: 'thu', name: 'Thursday', short: 'Thu' },
  { day: 'fri', name: 'Friday', short: 'Fri' },
  { day: 'sat', name: 'Saturday', short: 'Sat' },
  { day: 'sun', name: 'Sunday', short: 'Sun' },
] as const satisfies readonly { day: Weekday; name: string; short: string }[];

/**
 * The protocol's days are written out above (the console does not bundle the
 * protocol's schemas); this type fails to compile if the list lacks one.
 */
export type EveryDayListed = NoneMissing<Exclude<Weekday, (typeof DAYS)[number]['day']>>;
type NoneMissing<T extends never> = T;

type Range = readonly [string, string];

/** A day's ranges, `09:00–12:30, 13:30–18:00`; `closed` for none. */
export function rangesText(ranges: readonly Range[] | undefined): string {
  if (!ranges || ranges.length === 0) return 'closed';
  return [...ranges]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([start, end]) => `${start}–${end}`)
    .join(', ');
}

/**
 * The week in one line, days in a row with the same hours written once:
 * `Mon–Fri 09:00–18:00 · Sat 10:00–14:00 · Sun closed`.
 */
export function weekText(weekly: BusinessHours['weekly']): string {
  const texts = DAYS.map(({ day }) => rangesText(weekly[day]));
  if (texts.every((text) => text === 'closed')) return 'Closed every day';
  if (texts.every((text) => text === texts[0])) return `Every day ${texts[0]}`;
  const runs: { from: number; to: number; text: string }[] = [];
  texts.forEach((text, i) => {
    const last = runs.at(-1);
    if (last && last.text === text) last.to = i;
    else runs.push({ from: i, to: i, text });
  });
  return runs
    .map(({ from, to, text }) => {
      const days =
        from === to
          ? DAYS[from]!.short
          : to === from + 1
            ? `${DAYS[from]!.short}, ${DAYS[to]!.short}`
            : `${DAYS[from]!.short}–${DAYS[to]!.short}`;
      return `${days} ${text}`;
    })
    .join(' · ');
}

/** How many closed dates are written out before "and n more". */
const CLOSED_SHOWN = 5;

/** The closed dates still to come (or today), soonest first: `2026-12-25, 2027-01-01 and 3 more`; null when none. */
export function closedText(closed: readonly string[], today: string): string | null {
  const coming = [...closed].filter((date) => date >= today).sort();
  if (coming.length === 0) return null;
  const shown = coming.slice(0, CLOSED_SHOWN).join(', ');
  return coming.length > CLOSED_SHOWN ? `${shown} and ${coming.length - CLOSED_SHOWN} more` : shown;
}

/** Today's date in `timeZone`, `YYYY-MM-DD`, as closed dates are written. */
export function localDate(now: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
      now,
    );
  } catch {
    return new Date(now).toISOString().slice(0, 10);
  }
}

/** How far off a moment is: `in 45 min`, `in 3 h 20 min`, `in 4 days`. */
export function inText(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'in less than a minute';
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `in ${hours} h ${minutes % 60} min` : `in ${hours} h`;
  return `in ${Math.round(hours / 24)} days`;
}

/**
 * When the hours next change, read in the channel's own time zone, where its
 * hours are written: `Opens Tue 09:00 (Europe/Paris), in 14 h`. Null without
 * a change in sight.
 */
export function changeText(
  change: { opensAt: string | null; closesAt: string | null },
  timeZone: string,
  now: number,
  locale?: string,
): string | null {
  const [verb, iso] = change.opensAt ? ['Opens', change.opensAt] : ['Closes', change.closesAt];
  const at = Date.parse(iso ?? '');
  if (Number.isNaN(at)) return null;
  let when: string;
  try {
    when = new Intl.DateTimeFormat(locale, {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(at);
  } catch {
    when = new Date(at).toISOString().slice(0, 16).replace('T', ' ');
    timeZone = 'UTC';
  }
  return `${verb} ${when} (${timeZone}), ${inText(at - now)}`;
}

/** The time zones the form offers: the browser's IANA names, with UTC, which some browsers leave out. */
export function timeZoneNames(supported: () => string[] = () => Intl.supportedValuesOf('timeZone')): string[] {
  let names: string[];
  try {
    names = supported();
  } catch {
    names = [];
  }
  return names.includes('UTC') ? names : ['UTC', ...names];
}
