/**
 * The figures the insights view draws, from GET /backend/data/reports/engagements
 * (docs/api.md): the report read as untrusted input, acceptance by channel
 * and by hour of day, and the time ranges it asks for. Pure functions,
 * tested without a page (test/console-insights.test.ts).
 */
import type { EngagementReportBody } from '../../protocol/reports.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type Bucket = EngagementReportBody['bucket'];

/** The widest custom range, as the report endpoint allows it: 31 days by hour, 366 days by day. */
export const MAX_RANGE: Record<Bucket, number> = { hour: 31 * DAY, day: 366 * DAY };

/** The preset ranges, as the "Time range" select of index.html offers them: so many buckets back from now. */
export const PRESETS = {
  '24h': { bucket: 'hour', span: 24 },
  '7d': { bucket: 'day', span: 7 },
  '30d': { bucket: 'day', span: 30 },
} as const satisfies Record<string, { bucket: Bucket; span: number }>;
export type Preset = keyof typeof PRESETS;

export const isPreset = (value: string): value is Preset => Object.hasOwn(PRESETS, value);

/** A range the report is asked for: ISO times, [from, to). */
export interface Range {
  from: string;
  to: string;
  bucket: Bucket;
}

type FunnelFigures = EngagementReportBody['totals'];

/** A bucket or the totals as the console uses them: counts, never anything the server did not send as a number. */
export type Figures = Pick<
  FunnelFigures,
  | 'created'
  | 'delivered'
  | 'accepted'
  | 'declined'
  | 'timedOut'
  | 'cancelled'
  | 'expired'
  | 'acceptedByChannel'
  | 'refused'
  | 'narrowed'
> & {
  acceptanceRate: number | null;
  /** Median and 90th percentile time to answer; NaN when unknown. */
  p50: number;
  p90: number;
};

/** Counts that stack in the outcomes chart. */
export type OutcomeKey = 'accepted' | 'declined' | 'timedOut' | 'cancelled' | 'expired';

export interface Report {
  totals: Figures;
  /** Oldest first; `start` in milliseconds. */
  buckets: (Figures & { start: number })[];
  topPages: { path: string; shown: number; accepted: number; acceptanceRate: number | null }[];
}

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
const rate = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
const asObject = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

function figures(raw: unknown): Figures {
  const r = asObject(raw);
  const time = asObject(r.timeToAnswerMs);
  return {
    created: count(r.created),
    delivered: count(r.delivered),
    accepted: count(r.accepted),
    declined: count(r.declined),
    timedOut: count(r.timedOut),
    cancelled: count(r.cancelled),
    expired: count(r.expired),
    acceptanceRate: rate(r.acceptanceRate),
    // Channel names include the report's "(other)" and "(none)"; they reach the page as text only.
    acceptedByChannel: Object.fromEntries(
      Object.entries(asObject(r.acceptedByChannel)).map(([name, n]) => [name, count(n)]),
    ),
    // Engages refused, by FAULT code; codes this console does not know are kept and shown as they are.
    refused: Object.fromEntries(Object.entries(asObject(r.refused)).map(([code, n]) => [code, count(n)])),
    narrowed: count(r.narrowed),
    p50: Number(time.p50),
    p90: Number(time.p90),
  };
}

/** The report as the view draws it, read defensively: it is input like any other. */
export function readReport(body: unknown): Report {
  const report = asObject(body);
  const buckets: unknown[] = Array.isArray(report.buckets) ? report.buckets : [];
  const topPages: unknown[] = Array.isArray(report.topPages) ? report.topPages : [];
  return {
    totals: figures(report.totals),
    buckets: buckets
      .map((b) => ({ start: Date.parse(asObject(b).start as string), ...figures(b) }))
      .filter((b) => !Number.isNaN(b.start))
      .sort((a, b) => a.start - b.start),
    topPages: topPages.map((raw) => {
      const p = asObject(raw);
      return {
        path: String(p.path ?? ''),
        shown: count(p.shown),
        accepted: count(p.accepted),
        acceptanceRate: rate(p.acceptanceRate),
      };
    }),
  };
}

export interface HourOfDay {
  hour: number;
  delivered: number;
  accepted: number;
  rate: number | null;
}

/**
 * Acceptance by hour of day (the browser's time zone), summed over the hour
 * buckets of the range: accepted ÷ delivered of every bucket that starts in
 * that hour, null where nothing was delivered.
 */
export function byHourOfDay(
  hourBuckets: readonly { start: number; delivered: number; accepted: number }[],
): HourOfDay[] {
  const hours: HourOfDay[] = Array.from({ length: 24 }, (_, hour) => ({ hour, delivered: 0, accepted: 0, rate: null }));
  for (const bucket of hourBuckets) {
    const hour = hours[new Date(bucket.start).getHours()]!;
    hour.delivered += bucket.delivered;
    hour.accepted += bucket.accepted;
  }
  for (const hour of hours) hour.rate = hour.delivered > 0 ? hour.accepted / hour.delivered : null;
  return hours;
}

export interface ChannelRate {
  channel: string;
  accepted: number;
  rate: number | null;
}

/** Acceptance by channel: what share of the delivered invitations were accepted on each channel, most accepted first. */
export function byChannel(totals: Pick<Figures, 'acceptedByChannel' | 'delivered'>): ChannelRate[] {
  return Object.entries(totals.acceptedByChannel)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([channel, accepted]) => ({
      channel,
      accepted,
      rate: totals.delivered > 0 ? accepted / totals.delivered : null,
    }));
}

/** The range a preset stands for now: from the start of the bucket (n − 1) buckets ago, to now. */
export function presetRange(preset: Preset, now = Date.now()): Range {
  const { bucket, span } = PRESETS[preset];
  const size = bucket === 'hour' ? HOUR : DAY;
  // Report buckets are UTC hours and days, so the range starts on one.
  const start = Math.floor(now / size) * size - (span - 1) * size;
  return { from: new Date(start).toISOString(), to: new Date(now).toISOString(), bucket };
}

/**
 * A custom range from the form's local times, or the sentence that tells the
 * person why it is not a range the report endpoint accepts.
 */
export function customRange(from: string, to: string, bucketChoice: string): { range: Range } | { error: string } {
  const start = Date.parse(from);
  const end = Date.parse(to);
  const bucket: Bucket = bucketChoice === 'day' ? 'day' : 'hour';
  if (Number.isNaN(start) || Number.isNaN(end)) return { error: 'Enter both the start and the end of the range.' };
  if (start >= end) return { error: 'The start of the range must come before its end.' };
  if (end - start > MAX_RANGE[bucket]) {
    return {
      error:
        bucket === 'hour'
          ? 'By hour, a range can span at most 31 days; choose by day for more.'
          : 'A range can span at most 366 days.',
    };
  }
  return { range: { from: new Date(start).toISOString(), to: new Date(end).toISOString(), bucket } };
}

/** A moment as a datetime-local input wants it: local time, to the minute, without a zone. */
export function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The range the report covers (the endpoint widens it to whole buckets), in the person's own words. */
export function describeRange(report: unknown, asked: Range, locale?: string): string {
  const r = asObject(report);
  const from = Date.parse(typeof r.from === 'string' ? r.from : asked.from);
  const to = Date.parse(typeof r.to === 'string' ? r.to : asked.to);
  if (Number.isNaN(from) || Number.isNaN(to)) return '';
  // Day buckets are UTC days, so a range by day is told in UTC.
  const zone: Intl.DateTimeFormatOptions = asked.bucket === 'day' ? { timeZone: 'UTC', timeZoneName: 'short' } : {};
  const when = new Intl.DateTimeFormat(locale, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...zone,
  });
  return `${when.formatRange(from, to)}, by ${asked.bucket}`;
}
