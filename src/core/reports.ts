/**
 * The invitation funnel report (docs/api.md): what the stores keep per
 * UTC hour, and how the report is built from those hours.
 *
 * Each store writes a few counters into the hour of a transition in the same
 * atomic write as the transition itself (the SQLite transaction, the Redis
 * script), so the figures never disagree with the attempts and stay right
 * when old events are pruned. A store keeps an hour as a flat map of counter
 * name → count (the names below); both stores use the same names, so one
 * reader (`buildReport`) serves both. Day buckets and totals are sums of hours.
 */
import type { EngagementState } from '../protocol/index.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** One UTC hour as a store keeps it: `hour` is its start (epoch ms); counters absent are 0. */
export interface ReportHour {
  hour: number;
  counts: Record<string, number>;
}

/** The start of the UTC hour of `ms`. */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Counter names. The plain ones count transitions; the prefixed ones are
 * open-ended (a channel, a reason, a page path) and bounded per hour:
 * after `REPORT_CAPS[kind]` distinct names in one hour, further names count
 * under `(other)`, so a caller sending random reasons cannot grow an hour
 * without bound. `n:<kind>` counts the distinct names an hour holds.
 */
export const REPORT_COUNTERS = {
  created: 'created',
  delivered: 'delivered',
  accepted: 'accepted',
  declined: 'declined',
  timed_out: 'timed_out',
  cancelled: 'cancelled',
  expired: 'expired',
} as const satisfies Partial<Record<EngagementState | 'created', string>>;

/**
 * Engages the store refuses, counted per FAULT code in the hour of the
 * refusal (`rf:<code>`), in the same atomic write as the decision: the
 * refusals the store itself decides. `narrowed` counts attempts created with
 * fewer channels than asked (pacing closed the others).
 */
export const REFUSAL_CODES = [
  'UNKNOWN_VISIT',
  'VISITOR_OPTED_OUT',
  'ENGAGEMENT_IN_PROGRESS',
  'VISITOR_CAPPED',
  'NO_CAPACITY',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];
export const refusedCounter = (code: RefusalCode): string => `rf:${code}`;
export const NARROWED = 'narrowed';

/** Open-ended counters: accepted per channel, cancelled per reason, shown and accepted per page path. */
export const REPORT_KINDS = { channel: 'ch', reason: 're', shown: 'ps', acceptedOn: 'pa', answer: 'tta' } as const;
export const REPORT_CAPS: Readonly<Record<'ch' | 're' | 'ps' | 'pa', number>> = { ch: 50, re: 50, ps: 200, pa: 200 };
export const OTHER = '(other)';
/** The name counted for a cancel without a reason (or an accept without a channel). */
export const NONE = '(none)';

/** A page path as the report keeps it: the path of the page's URL only (the query string may hold personal data), at most this long. */
export const MAX_REPORT_PATH = 200;

/** The path of a page's URL for the report: no query, no fragment, at most MAX_REPORT_PATH characters. */
export function reportPath(url: string | null | undefined): string {
  if (!url) return '(unknown)';
  const parsed = URL.parse(url, 'http://page.invalid/');
  if (parsed === null) return '(unknown)';
  return parsed.pathname.slice(0, MAX_REPORT_PATH);
}

/**
 * Time to answer (delivered → accepted or declined) is kept as a histogram of
 * fixed log-scale buckets: bucket i holds [ANSWER_BOUNDS[i], ANSWER_BOUNDS[i+1]).
 * Below 10 ms each millisecond is its own bucket; above, a bucket is at most
 * 10 % wider than its start, so the (rounded) geometric middle of its first
 * and last millisecond, reported for it, is within 4.9 % (√1.1 − 1) of any
 * value in it. 200 buckets; the last (from 4.8 days) is open. Integer
 * bounds, so that the Redis script (which gets this table as an argument) and
 * SQLite put every value in the same bucket.
 */
export const ANSWER_BOUNDS: readonly number[] = (() => {
  const bounds = [0];
  while (bounds[bounds.length - 1]! < 4e8) {
    const last = bounds[bounds.length - 1]!;
    bounds.push(Math.max(last + 1, Math.floor(last * 1.1)));
  }
  return bounds;
})();

/** The largest relative error of a reported percentile below the last bucket (documented in docs/api.md). */
export const ANSWER_RESOLUTION = 0.049;

/** The histogram bucket of a time to answer in ms (negative counts as 0). */
export function answerBucket(ms: number): number {
  let lo = 0;
  let hi = ANSWER_BOUNDS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ANSWER_BOUNDS[mid]! <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The value reported for a bucket: the geometric middle of its first and last millisecond, rounded (the open last bucket: its start). */
export function answerBucketValue(index: number): number {
  const lo = ANSWER_BOUNDS[index]!;
  const next = ANSWER_BOUNDS[index + 1];
  if (next === undefined) return lo;
  return Math.round(Math.sqrt(lo * (next - 1)));
}

/** The nearest-rank percentile (0 < p ≤ 1) of a merged histogram; null when it is empty. */
export function percentile(histogram: ReadonlyMap<number, number>, p: number): number | null {
  let total = 0;
  for (const n of histogram.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const index of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(index)!;
    if (seen >= rank) return answerBucketValue(index);
  }
  return null;
}

// ── the answer ──

export type ReportBucket = 'hour' | 'day';

export interface FunnelFigures {
  created: number;
  delivered: number;
  accepted: number;
  acceptedByChannel: Record<string, number>;
  declined: number;
  timedOut: number;
  cancelled: number;
  cancelledByReason: Record<string, number>;
  expired: number;
  acceptanceRate: number | null;
  timeToAnswerMs: { p50: number | null; p90: number | null };
  /** Engages refused, per FAULT code (every code the store decides, zeros included). */
  refused: Record<RefusalCode, number>;
  /** Attempts created with fewer channels than asked: pacing closed the others. */
  narrowed: number;
}

export interface EngagementReport {
  from: string;
  to: string;
  bucket: ReportBucket;
  timeZone: 'UTC';
  totals: FunnelFigures;
  buckets: (FunnelFigures & { start: string })[];
  topPages: { path: string; shown: number; accepted: number; acceptanceRate: number | null }[];
}

/** How many paths `topPages` lists. */
export const TOP_PAGES = 10;

/** The start of the bucket holding `ms` (UTC). */
export const bucketStart = (ms: number, bucket: ReportBucket): number => {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(ms / size) * size;
};

/** Sums hours' counters; one of these per bucket and one for the totals. */
class Tally {
  readonly counts = new Map<string, number>();
  add(counts: Record<string, number>): void {
    for (const [name, n] of Object.entries(counts)) this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  /** The names under `kind:` with their counts. */
  named(kind: string): Map<string, number> {
    const out = new Map<string, number>();
    const prefix = `${kind}:`;
    for (const [name, n] of this.counts) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), n);
    return out;
  }
  figures(): FunnelFigures {
    const delivered = this.get('delivered');
    const accepted = this.get('accepted');
    const answers = new Map<number, number>();
    for (const [index, n] of this.named(REPORT_KINDS.answer)) answers.set(Number(index), n);
    return {
      created: this.get('created'),
      delivered,
      accepted,
      acceptedByChannel: sortedRecord(this.named(REPORT_KINDS.channel)),
      declined: this.get('declined'),
      timedOut: this.get('timed_out'),
      cancelled: this.get('cancelled'),
      cancelledByReason: sortedRecord(this.named(REPORT_KINDS.reason)),
      expired: this.get('expired'),
      acceptanceRate: delivered === 0 ? null : accepted / delivered,
      timeToAnswerMs: { p50: percentile(answers, 0.5), p90: percentile(answers, 0.9) },
      refused: Object.fromEntries(REFUSAL_CODES.map((code) => [code, this.get(refusedCounter(code))])) as Record<
        RefusalCode,
        number
      >,
      narrowed: this.get(NARROWED),
    };
  }
}

/** A plain object (no prototype keys: names come from callers) in name order. */
function sortedRecord(map: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const name of [...map.keys()].sort()) out[name] = map.get(name)!;
  return { ...out };
}

/**
 * The report over [from, to) (both on bucket bounds), from the hours a store
 * returned for that range: every bucket listed, empty ones with zeros.
 */
export function buildReport(
  hours: readonly ReportHour[],
  range: { from: number; to: number; bucket: ReportBucket },
): EngagementReport {
  const size = range.bucket === 'hour' ? HOUR_MS : DAY_MS;
  const buckets = new Map<number, Tally>();
  for (let start = range.from; start < range.to; start += size) buckets.set(start, new Tally());
  const totals = new Tally();
  for (const hour of hours) {
    if (hour.hour < range.from || hour.hour >= range.to) continue;
    buckets.get(bucketStart(hour.hour, range.bucket))?.add(hour.counts);
    totals.add(hour.counts);
  }
  const shown = totals.named(REPORT_KINDS.shown);
  const acceptedOn = totals.named(REPORT_KINDS.acceptedOn);
  const topPages = [...shown.entries()]
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, TOP_PAGES)
    .map(([path, n]) => {
      const accepted = acceptedOn.get(path) ?? 0;
      return { path, shown: n, accepted, acceptanceRate: accepted / n };
    });
  return {
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    bucket: range.bucket,
    timeZone: 'UTC',
    totals: totals.figures(),
    buckets: [...buckets.entries()].map(([start, tally]) => ({
      start: new Date(start).toISOString(),
      ...tally.figures(),
    })),
    topPages,
  };
}
