/**
 * The report and export endpoints (docs/api.md) on a real server with
 * a controlled clock: figures from a real page's invitations, defaults,
 * day buckets, export pages and CSV, credentials, and every bad parameter
 * answered with INVALID_PARAMETER without changing anything. Runs on SQLite
 * (`node`) and Redis (`node-redis`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS } from '../src/protocol/index.js';
import { ANSWER_RESOLUTION, HOUR_MS, hourOf } from '../src/core/reports.js';
import { EXPORT_COLUMNS } from '../src/backend/routes/reports.js';
import { startServer, TestPage, type Reply, type TestServer } from './support.js';
import { storeSnapshot } from './store-snapshot.js';

const REPORT = '/backend/data/reports/engagements';
const EXPORT = '/backend/data/engagements';
const iso = (ms: number) => new Date(ms).toISOString();

// Three hours ago, on the hour: recent enough for the report retention, with room for a second hour.
const H0 = hourOf(Date.now()) - 3 * HOUR_MS;
let clock = H0 + 10 * 60_000;

let server: TestServer;
const pages: TestPage[] = [];

beforeAll(async () => {
  server = await startServer({}, { now: () => clock });
});
afterAll(async () => {
  for (const page of pages) page.close();
  await server.close();
});

function expectInvalid(reply: Reply, path: string): void {
  expect(reply.status).toBe(FAULTS.INVALID_PARAMETER.status);
  expect(reply.body).toMatchObject({ status: 'FAULT', code: 'INVALID_PARAMETER', details: [{ path }] });
}

const query = (params: Record<string, string | number>) =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()}`;

/** RFC 4180 reader for the test: quoted cells, doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('report', () => {
  beforeAll(async () => {
    // A page on /products (its query string must not reach the report).
    const page = new TestPage(server.url, {
      page: {
        url: 'http://shop.test/products?email=a@b.test',
        title: 'Products',
        visible: true,
        focused: true,
        locale: 'en',
      },
    });
    pages.push(page);
    await page.next('session');
    const visitId = page.session.visitId;

    // Hour 0: shown, accepted with chat 2 s later.
    expect((await server.engage({ interactionId: 'r1', visitId, channels: ['chat', 'voice'] })).status).toBe(200);
    await page.next('invitation:start', (p) => p.interactionId === 'r1');
    clock += 1000;
    expect(await page.shown('r1')).toMatchObject({ ok: true });
    clock += 2000;
    expect(await page.answer('r1', 'accepted', 'chat')).toMatchObject({ ok: true });

    // Hour 1: shown, declined 8 s later; then one cancelled before it was shown.
    clock = H0 + HOUR_MS + 5 * 60_000;
    await server.engage({ interactionId: 'r2', visitId });
    await page.next('invitation:start', (p) => p.interactionId === 'r2');
    expect(await page.shown('r2')).toMatchObject({ ok: true });
    clock += 8000;
    expect(await page.answer('r2', 'declined')).toMatchObject({ ok: true });
    await server.engage({ interactionId: 'r3', visitId });
    clock += 1000;
    expect((await server.noengage({ interactionId: 'r3', reason: 'no-agents' })).body).toMatchObject({
      state: 'cancelled',
    });
    // A tombstone is not counted.
    await server.noengage({ interactionId: 'never-engaged', reason: 'no-agents' });
  });

  it('answers the funnel per hour and in total, in UTC', async () => {
    const reply = await server.get(REPORT + query({ from: iso(H0), to: iso(H0 + 2 * HOUR_MS) }));
    expect(reply.status).toBe(200);
    const report = reply.body;
    expect(report).toMatchObject({ from: iso(H0), to: iso(H0 + 2 * HOUR_MS), bucket: 'hour', timeZone: 'UTC' });
    expect(report.buckets.map((b: { start: string }) => b.start)).toEqual([iso(H0), iso(H0 + HOUR_MS)]);
    expect(report.buckets[0]).toMatchObject({
      created: 1,
      delivered: 1,
      accepted: 1,
      acceptedByChannel: { chat: 1 },
      acceptanceRate: 1,
    });
    expect(report.buckets[1]).toMatchObject({
      created: 2,
      delivered: 1,
      accepted: 0,
      declined: 1,
      cancelled: 1,
      cancelledByReason: { 'no-agents': 1 },
      acceptanceRate: 0,
    });
    expect(report.totals).toMatchObject({
      created: 3,
      delivered: 2,
      accepted: 1,
      acceptedByChannel: { chat: 1 },
      declined: 1,
      timedOut: 0,
      cancelled: 1,
      cancelledByReason: { 'no-agents': 1 },
      expired: 0,
      acceptanceRate: 0.5,
    });
    // Answers took 2 s and 8 s: p50 is the first, p90 the second, each within the histogram's resolution.
    const { p50, p90 } = report.totals.timeToAnswerMs;
    expect(Math.abs(p50 - 2000)).toBeLessThanOrEqual(2000 * ANSWER_RESOLUTION);
    expect(Math.abs(p90 - 8000)).toBeLessThanOrEqual(8000 * ANSWER_RESOLUTION);
    expect(report.topPages).toEqual([{ path: '/products', shown: 2, accepted: 1, acceptanceRate: 0.5 }]);
    // The other API prefix answers the same.
    expect(
      (await server.get('/server/data/reports/engagements' + query({ from: iso(H0), to: iso(H0 + 2 * HOUR_MS) }))).body,
    ).toEqual(report);
  });

  it('widens the range to whole buckets, and by default covers the last 24 hours by hour', async () => {
    const widened = await server.get(REPORT + query({ from: iso(H0 + 1), to: iso(H0 + HOUR_MS + 1) }));
    expect(widened.body).toMatchObject({ from: iso(H0), to: iso(H0 + 2 * HOUR_MS) });
    const defaults = await server.get(REPORT);
    expect(defaults.status).toBe(200);
    expect(defaults.body).toMatchObject({ bucket: 'hour', timeZone: 'UTC', to: iso(hourOf(clock) + HOUR_MS) });
    expect(defaults.body.buckets).toHaveLength(24);
    expect(defaults.body.totals).toMatchObject({ created: 3, delivered: 2 });
  });

  it('sums hours into UTC days, and says null when nothing was delivered', async () => {
    const day = Math.floor(H0 / 86_400_000) * 86_400_000;
    const reply = await server.get(REPORT + query({ from: iso(day), to: iso(day + 2 * 86_400_000), bucket: 'day' }));
    expect(reply.body.bucket).toBe('day');
    expect(reply.body.buckets.map((b: { start: string }) => b.start)).toEqual([iso(day), iso(day + 86_400_000)]);
    expect(reply.body.totals).toMatchObject({ created: 3, delivered: 2, accepted: 1, declined: 1 });
    const sum = reply.body.buckets.reduce((n: number, b: { delivered: number }) => n + b.delivered, 0);
    expect(sum).toBe(2);
    const empty = await server.get(REPORT + query({ from: '2026-01-01', to: '2026-01-02' }));
    expect(empty.body.totals).toMatchObject({
      created: 0,
      delivered: 0,
      acceptanceRate: null,
      timeToAnswerMs: { p50: null, p90: null },
    });
    expect(empty.body.topPages).toEqual([]);
  });
});

describe('export', () => {
  const ids: string[] = [];
  beforeAll(async () => {
    clock = H0 + 2 * HOUR_MS;
    const page = await TestPage.open(server.url);
    pages.push(page);
    // Seven attempts, two on the same millisecond, ids that a spreadsheet would read as formulas.
    for (const [i, interactionId] of ['e1', '=SUM(A1:A9)', 'e3', '-2+3', 'e5', '@cmd', 'e7'].entries()) {
      if (i !== 2) clock += 1;
      expect(
        (
          await server.engage({
            interactionId,
            visitId: page.session.visitId,
            userData: { n: i, note: 'a "quoted", text\nline' },
          })
        ).status,
      ).toBe(200);
      await server.noengage({ interactionId, reason: i === 4 ? '+danger' : 'pacing' });
      ids.push(interactionId);
    }
  });
  const range = () => ({ from: iso(H0 + 2 * HOUR_MS), to: iso(H0 + 3 * HOUR_MS) });

  it('pages through the range oldest first, each attempt once, as the status endpoint answers it', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < 10; round++) {
      const reply: Reply = await server.get(EXPORT + query({ ...range(), limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(reply.status).toBe(200);
      expect(reply.body.engagements.length).toBeLessThanOrEqual(2);
      seen.push(...reply.body.engagements);
      cursor = reply.body.next;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    // Created order; the two on one millisecond by id.
    const byTime = [...ids].sort((a, b) => {
      const x = seen.find((e) => e.interactionId === a)!.createdAt;
      const y = seen.find((e) => e.interactionId === b)!.createdAt;
      return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
    });
    expect(seen.map((e) => e.interactionId)).toEqual(byTime);
    expect(new Set(seen.map((e) => e.interactionId)).size).toBe(ids.length);
    for (const engagement of seen) expect(engagement).toEqual((await server.status(engagement.interactionId)).body);
    expect(seen).toHaveLength(7);
    // The default page size holds them all, and says there is no next page.
    const all = await server.get(EXPORT + query(range()));
    expect(all.body.engagements.map((e: { interactionId: string }) => e.interactionId)).toEqual(byTime);
    expect(all.body.next).toBeNull();
  });

  it('answers CSV of the whole range, every field, formulas defused, for format=csv and for Accept: text/csv', async () => {
    const json = (await server.get(EXPORT + query(range()))).body.engagements;
    for (const reply of [
      await server.get(EXPORT + query({ ...range(), format: 'csv' })),
      await server.get(EXPORT + query(range()), { accept: 'text/csv' }),
    ]) {
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^text\/csv/);
      const rows = parseCsv(reply.body as string);
      expect(rows[0]).toEqual(EXPORT_COLUMNS);
      expect(rows).toHaveLength(json.length + 1);
      rows.slice(1).forEach((row, i) => {
        const engagement = json[i];
        const cell = (name: string) => row[EXPORT_COLUMNS.indexOf(name as never)]!;
        const unguard = (text: string) => (/^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text);
        expect(unguard(cell('interactionId'))).toBe(engagement.interactionId);
        expect(unguard(cell('reason'))).toBe(engagement.reason);
        expect(JSON.parse(cell('userData'))).toEqual(engagement.userData);
        expect(JSON.parse(cell('transitions'))).toEqual(engagement.transitions);
        expect(cell('channel')).toBe(''); // null
        expect(cell('timeoutSeconds')).toBe(String(engagement.timeoutSeconds));
      });
      // No cell starts a formula.
      for (const row of rows) for (const value of row) expect(value).not.toMatch(/^[=+\-@\t\r]/);
      expect(rows.map((r) => r[0])).toContain("'=SUM(A1:A9)");
      expect(rows.map((r) => r[EXPORT_COLUMNS.indexOf('reason')])).toContain("'+danger");
    }
  });
});

describe('OpenAPI', () => {
  it('documents both routes under both prefixes with the shapes they answer', async () => {
    const doc = (await server.get('/openapi.json')).body;
    for (const prefix of ['/backend/data', '/server/data']) {
      expect(doc.paths[`${prefix}/reports/engagements`].get.responses['200']).toBeDefined();
      expect(doc.paths[`${prefix}/engagements`].get.parameters.map((p: { name: string }) => p.name)).toEqual([
        'from',
        'to',
        'limit',
        'cursor',
        'format',
      ]);
    }
    const report = (await server.get(REPORT)).body;
    const schema = doc.components.schemas.EngagementReport;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(report).sort());
    expect(Object.keys(schema.properties.totals.properties).sort()).toEqual(Object.keys(report.totals).sort());
    expect(Object.keys(doc.components.schemas.EngagementExport.properties)).toEqual(['engagements', 'next']);
  });
});

describe('credentials and bad parameters', () => {
  it('needs the API credentials', async () => {
    const secured = await startServer({ apiToken: 'reports-token' });
    try {
      for (const path of [REPORT, EXPORT, '/server/data/engagements']) {
        const refused = await secured.get(path);
        expect(refused.status).toBe(401);
        expect(refused.body).toMatchObject({ code: 'UNAUTHORIZED' });
        expect((await secured.get(path, { authorization: 'Bearer reports-token' })).status).toBe(200);
      }
    } finally {
      await secured.close();
    }
  });

  it('refuses each bad parameter with INVALID_PARAMETER naming it, and changes nothing', async () => {
    const before = await storeSnapshot(server.store);
    const day = '2026-11-01T00:00:00Z';
    const cases: [string, string][] = [
      [REPORT + query({ from: '2026-11-02T00:00:00Z', to: day }), 'from'],
      [REPORT + query({ from: day, to: day }), 'from'],
      [REPORT + query({ from: 'yesterday' }), 'from'],
      [REPORT + query({ to: '2026-02-30' }), 'to'],
      [REPORT + query({ from: '2026-11-01T10:00' }), 'from'], // no zone
      [REPORT + query({ from: '2026-11-01T25:00:00Z' }), 'from'],
      [REPORT + query({ from: '2026-10-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }), 'to'], // 32 days by hour
      [REPORT + query({ from: '2025-01-01', to: '2026-11-02', bucket: 'day' }), 'to'],
      [REPORT + query({ bucket: 'week' }), 'bucket'],
      [REPORT + query({ zone: 'Europe/Paris' }), 'zone'],
      [REPORT + '?bucket=hour&bucket=day', 'bucket'],
      [EXPORT + query({ limit: 0 }), 'limit'],
      [EXPORT + query({ limit: 1001 }), 'limit'],
      [EXPORT + query({ limit: '1e2' }), 'limit'],
      [EXPORT + query({ cursor: 'not a cursor' }), 'cursor'],
      [EXPORT + query({ cursor: Buffer.from('[1,2]').toString('base64url') }), 'cursor'],
      [
        EXPORT +
          query({
            from: '2026-11-01',
            to: '2026-11-02',
            cursor: Buffer.from(JSON.stringify([Date.parse('2026-10-01'), 'x'])).toString('base64url'),
          }),
        'cursor',
      ],
      [EXPORT + query({ format: 'xml' }), 'format'],
      [EXPORT + query({ format: 'csv', limit: 10 }), 'limit'],
      [EXPORT + query({ from: '2024-01-01', to: '2026-01-02' }), 'to'],
    ];
    for (const [path, parameter] of cases) expectInvalid(await server.get(path), parameter);
    expect(await storeSnapshot(server.store)).toEqual(before);
  });
});
