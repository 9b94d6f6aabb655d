/**
 * The report and the export (docs/api.md), registered under both API
 * prefixes behind caller auth like the other data routes:
 * - `GET /reports/engagements?from&to&bucket`: the invitation funnel per UTC
 *   hour or day, from the stores' hourly counters (core/reports.ts);
 * - `GET /engagements?from&to&limit&cursor&format`: the attempts created in a
 *   range, oldest first, each as the status endpoint answers it; JSON pages
 *   with an opaque cursor, or CSV of the whole range.
 * Every parameter is checked first; a bad one is a 400 INVALID_PARAMETER
 * naming it, and nothing is read or changed.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { engagementSchema, type Engagement, type EngagementExport } from '../../protocol/index.js';
import { invalidParameter } from '../../core/faults.js';
import {
  DAY_MS,
  HOUR_MS,
  bucketStart,
  buildReport,
  type EngagementReport,
  type ReportBucket,
} from '../../core/reports.js';
import type { BeckonStore, ExportPosition } from '../../core/store.js';
import { csvLine } from '../csv.js';

/** The widest range of one report: 31 days by hour (744 buckets), 366 days by day. */
export const MAX_REPORT_RANGE_MS: Record<ReportBucket, number> = { hour: 31 * DAY_MS, day: 366 * DAY_MS };
/** The widest range of one export (it is paged, but a range is a promise to read it all). */
export const MAX_EXPORT_RANGE_MS = 366 * DAY_MS;
export const EXPORT_LIMIT = { default: 100, max: 1000 } as const;
/** Attempts read from the store per step while a CSV streams. */
const CSV_PAGE = 1000;
/** The CSV columns: every field of the status answer, in its order. */
export const EXPORT_COLUMNS = Object.keys(engagementSchema.shape) as (keyof Engagement)[];

// ── parameters ──

/** The query as single strings; unknown or repeated parameters are refused. */
function readQuery<K extends string>(query: unknown, keys: readonly K[]): Partial<Record<K, string>> {
  const params = (query ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) {
    if (!(keys as readonly string[]).includes(key)) {
      throw invalidParameter(key.slice(0, 64), `is not a parameter here (use ${keys.join(', ')})`);
    }
    if (typeof value !== 'string') throw invalidParameter(key, 'is given more than once');
  }
  return params as Partial<Record<K, string>>;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO 8601 time with its zone (`2026-12-01T10:00:00Z`, `…+01:00`), or a
 * date alone (UTC midnight), as epoch ms; null when it is not one. A time
 * without a zone is refused: the answer would depend on the server's zone.
 */
export function parseIsoTime(text: string): number | null {
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1970 || month < 1 || month > 12 || day < 1) return null;
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  let offset = 0;
  if (zone !== 'Z') {
    const [zh, zm] = zone.slice(1).split(':').map(Number) as [number, number];
    if (zh > 23 || zm > 59) return null;
    offset = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm) * 60_000;
  }
  const ms =
    Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), Math.floor(Number(`0.${frac || '0'}`) * 1000)) -
    offset;
  return ms >= 0 ? ms : null;
}

/** from/to as given or by default (`defaultTo`, and 24 hours before to); from must come before to, the range within `maxMs`. */
function readRange(
  text: { from?: string; to?: string },
  defaultTo: number,
  maxMs: number,
  maxText: string,
): { from: number; to: number } {
  const to = text.to === undefined ? defaultTo : parseIsoTime(text.to);
  if (to === null)
    throw invalidParameter('to', 'must be an ISO 8601 time with a zone, like 2026-12-01T00:00:00Z, or a date');
  const from = text.from === undefined ? to - DAY_MS : parseIsoTime(text.from);
  if (from === null)
    throw invalidParameter('from', 'must be an ISO 8601 time with a zone, like 2026-12-01T00:00:00Z, or a date');
  if (from >= to) throw invalidParameter('from', 'must be before to');
  if (to - from > maxMs) throw invalidParameter('to', `is too far after from: one call covers at most ${maxText}`);
  return { from, to };
}

export interface ReportRequest {
  from: number;
  to: number;
  bucket: ReportBucket;
}

/** Reads the report's query; the range is widened to whole buckets (UTC). */
export function readReportRequest(query: unknown, now: number): ReportRequest {
  const text = readQuery(query, ['from', 'to', 'bucket'] as const);
  if (text.bucket !== undefined && text.bucket !== 'hour' && text.bucket !== 'day') {
    throw invalidParameter('bucket', 'must be hour or day');
  }
  const bucket: ReportBucket = text.bucket ?? 'hour';
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  // By default the range ends with the current bucket: 24 hourly buckets, the current hour last.
  const defaultTo = bucketStart(now, bucket) + size;
  const range = readRange(
    text,
    defaultTo,
    MAX_REPORT_RANGE_MS[bucket],
    bucket === 'hour' ? '31 days by hour (use bucket=day for more)' : '366 days',
  );
  return { from: bucketStart(range.from, bucket), to: bucketStart(range.to - 1, bucket) + size, bucket };
}

export interface ExportRequest {
  from: number;
  to: number;
  limit: number;
  after: ExportPosition | null;
  format: 'json' | 'csv';
}

/** The cursor: where the last page ended, as base64url JSON (opaque to callers). */
export const encodeCursor = (position: ExportPosition): string =>
  Buffer.from(JSON.stringify([position.createdAt, position.interactionId])).toString('base64url');

function decodeCursor(text: string): ExportPosition | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [createdAt, interactionId] = value as [unknown, unknown];
    if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) return null;
    if (typeof interactionId !== 'string' || interactionId.length < 1 || interactionId.length > 128) return null;
    return { createdAt: createdAt as number, interactionId };
  } catch {
    return null;
  }
}

/** Whether the Accept header asks for CSV (text/csv listed with a q above 0). */
function acceptsCsv(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((item) => {
    const [type, ...params] = item.split(';').map((part) => part.trim().toLowerCase());
    return type === 'text/csv' && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}

/** Reads the export's query (and Accept header for the format). */
export function readExportRequest(query: unknown, accept: string | undefined, now: number): ExportRequest {
  const text = readQuery(query, ['from', 'to', 'limit', 'cursor', 'format'] as const);
  if (text.format !== undefined && text.format !== 'json' && text.format !== 'csv') {
    throw invalidParameter('format', 'must be json or csv');
  }
  const format = text.format ?? (acceptsCsv(accept) ? 'csv' : 'json');
  // By default up to and including this millisecond.
  const range = readRange(text, now + 1, MAX_EXPORT_RANGE_MS, '366 days');
  if (format === 'csv') {
    // CSV is the whole range in one answer; a page size or position would silently cut it.
    if (text.limit !== undefined)
      throw invalidParameter('limit', 'applies to JSON pages only: CSV answers the whole range');
    if (text.cursor !== undefined)
      throw invalidParameter('cursor', 'applies to JSON pages only: CSV answers the whole range');
  }
  let limit: number = EXPORT_LIMIT.default;
  if (text.limit !== undefined) {
    if (!/^\d{1,4}$/.test(text.limit) || Number(text.limit) < 1 || Number(text.limit) > EXPORT_LIMIT.max) {
      throw invalidParameter('limit', `must be a whole number from 1 to ${EXPORT_LIMIT.max}`);
    }
    limit = Number(text.limit);
  }
  let after: ExportPosition | null = null;
  if (text.cursor !== undefined) {
    after = decodeCursor(text.cursor);
    if (after === null)
      throw invalidParameter('cursor', 'is not a cursor this export gave (use the next of the page before)');
    if (after.createdAt < range.from || after.createdAt >= range.to) {
      throw invalidParameter('cursor', 'belongs to another range: pass the same from and to as for the first page');
    }
  }
  return { ...range, limit, after, format };
}

// ── routes ──

async function* csvRows(store: BeckonStore, request: ExportRequest): AsyncGenerator<string> {
  yield csvLine(EXPORT_COLUMNS);
  let after: ExportPosition | null = null;
  for (;;) {
    const page = await store.engagementsCreated({ from: request.from, to: request.to, after, limit: CSV_PAGE });
    if (page.length > 0)
      yield page.map((engagement) => csvLine(EXPORT_COLUMNS.map((column) => engagement[column]))).join('');
    if (page.length < CSV_PAGE) return;
    const last = page[page.length - 1]!;
    after = { createdAt: Date.parse(last.createdAt), interactionId: last.interactionId };
  }
}

export function reportRoutes(deps: { store: BeckonStore; now: () => number }) {
  return async (app: FastifyInstance): Promise<void> => {
    const { store, now } = deps;

    app.get('/reports/engagements', async (request): Promise<EngagementReport> => {
      const wanted = readReportRequest(request.query, now());
      return buildReport(await store.reportHours(wanted.from, wanted.to), wanted);
    });

    app.get('/engagements', async (request, reply: FastifyReply) => {
      const wanted = readExportRequest(request.query, request.headers.accept, now());
      if (wanted.format === 'csv') {
        // Streamed page by page: a long range never sits in memory. A store failure after the first
        // bytes can only cut the response short (the status is sent); the caller sees a broken download.
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="engagements.csv"')
          .send(Readable.from(csvRows(store, wanted)));
      }
      // One more than asked tells whether another page follows, so the last page says next: null.
      const found = await store.engagementsCreated({
        from: wanted.from,
        to: wanted.to,
        after: wanted.after,
        limit: wanted.limit + 1,
      });
      const engagements = found.slice(0, wanted.limit);
      const last = engagements[engagements.length - 1];
      const body: EngagementExport = {
        engagements,
        next:
          found.length > wanted.limit && last
            ? encodeCursor({ createdAt: Date.parse(last.createdAt), interactionId: last.interactionId })
            : null,
      };
      return body;
    });
  };
}
