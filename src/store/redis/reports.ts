/**
 * Reports and the export on Redis (ReportStore in core/store.ts): the
 * counters of each UTC hour (written by the createAttempt, transition and
 * setOptOut scripts, in includes/reports.lua), and the attempts by creation.
 */
import type { ReportStore } from '../../core/store.js';
import { ANSWER_BOUNDS, HOUR_MS, NONE, OTHER, REPORT_CAPS, hourOf, type ReportHour } from '../../core/reports.js';
import type { StoreContext } from './context.js';
import { isEmpty, type Fields, toEngagement } from './records.js';
import { ATTEMPT_INDEX_TAG } from './keys.js';

/** Hours read per round trip. */
const HOUR_BATCH = 500;

/**
 * The time-to-answer histogram's bounds as the scripts take them: one ARGV,
 * each bound padded to one width and joined with ','. The bounds stay one
 * table, ANSWER_BOUNDS in core/reports.ts, which SQLite and the report use
 * too, so JS and Lua put every value in the same bucket by construction.
 * They are sent only with a change that can count an answer (to accepted or
 * declined: some 2 KB, in the same round trip), rather than written into the
 * script's text, where a table of 200 numbers would cost every run of it.
 * Fixed width lets the script's binary search read the eight or so bounds it
 * needs straight from the text, without building a table of all of them.
 */
const BOUND_WIDTH = String(ANSWER_BOUNDS[ANSWER_BOUNDS.length - 1]).length;
export const ANSWER_BOUNDS_ARG = ANSWER_BOUNDS.map((bound) => String(bound).padStart(BOUND_WIDTH, '0')).join(',');

/** The report's key and arguments of a transition script at `at` (see transition.lua). */
export function reportArguments(context: StoreContext, at: number, countsAnswer: boolean) {
  return {
    key: { reportHourKey: context.keys.reportHour(hourOf(at)) },
    args: {
      reportExpireAt: reportExpireAt(context, at),
      answerBounds: countsAnswer ? ANSWER_BOUNDS_ARG : '',
    },
    names: {
      channelNamesCap: String(REPORT_CAPS.ch),
      reasonNamesCap: String(REPORT_CAPS.re),
      shownPathsCap: String(REPORT_CAPS.ps),
      acceptedPathsCap: String(REPORT_CAPS.pa),
      otherName: OTHER,
      noneName: NONE,
    },
  };
}

/** When the report hour of `at` expires (unix seconds): its end plus the retention. */
export const reportExpireAt = (context: StoreContext, at: number) =>
  String(Math.floor((hourOf(at) + HOUR_MS + context.reportRetentionMs) / 1000));

/** A member of attempts:ix by creation (behind its tag): the export's order. */
export const createdMember = (createdAt: number, id: string) =>
  `${ATTEMPT_INDEX_TAG.created}${String(Math.round(createdAt)).padStart(15, '0')}:${id}`;

/** The counters the scripts fold into others, each the sum of one kind of name (includes/reports.lua). */
const SUMMED: Readonly<Record<string, string>> = { 'ps:': 'delivered', 'ch:': 'accepted', 're:': 'cancelled' };

/**
 * An hour's counters as the report reads them, from its hash: 'delivered',
 * 'accepted' and 'cancelled' are the sums of their names (any stored before
 * the fold equal those sums, so they are not read), and a 'td:' (a decline
 * after a show) is one 'declined' and one 'tta:' of its bucket. The 'n:'
 * fields only bound the hour.
 */
function hourCounts(h: Fields): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (name: string, n: number) => {
    counts[name] = (counts[name] ?? 0) + n;
  };
  for (const [name, text] of Object.entries(h)) {
    const n = Number(text);
    if (name.startsWith('n:') || name === 'delivered' || name === 'accepted' || name === 'cancelled') continue;
    if (name.startsWith('td:')) {
      add('declined', n);
      add(`tta:${name.slice(3)}`, n);
      continue;
    }
    add(name, n);
    const summed = SUMMED[name.slice(0, 3)];
    if (summed) add(summed, n);
  }
  return counts;
}

export function reportStore({ conn, keys: k }: StoreContext): ReportStore {
  return {
    async reportHours(fromHour, toHour) {
      const hours: number[] = [];
      for (let hour = hourOf(fromHour); hour < toHour; hour += HOUR_MS) if (hour >= fromHour) hours.push(hour);
      const out: ReportHour[] = [];
      for (let start = 0; start < hours.length; start += HOUR_BATCH) {
        const batch = hours.slice(start, start + HOUR_BATCH);
        const hashes = await conn.run((c) => Promise.all(batch.map((hour) => c.hGetAll(k.reportHour(hour)))));
        batch.forEach((hour, i) => {
          const h = hashes[i] as Fields;
          if (isEmpty(h)) return;
          out.push({ hour, counts: hourCounts(h) });
        });
      }
      return out;
    },

    async pruneReports() {
      return 0; // each hour's hash expires on its own (EXPIREAT)
    },

    async engagementsCreated({ from, to, after, limit }) {
      const min =
        after !== null && after.createdAt >= from
          ? `(${createdMember(after.createdAt, after.interactionId)}`
          : `[${createdMember(from, '')}`;
      const max = `(${createdMember(to, '')}`;
      const hashes = await conn.run(async (c) => {
        const members = await c.zRangeByLex(k.attemptIndex, min, max, { LIMIT: { offset: 0, count: limit } });
        // '<tag><createdAt, 15 digits>:<id>'
        const skip = ATTEMPT_INDEX_TAG.created.length + 16;
        return Promise.all(members.map((member) => c.hGetAll(k.attempt(member.slice(skip)))));
      });
      return (hashes as Fields[]).filter((h) => !isEmpty(h)).map(toEngagement);
    },
  };
}
