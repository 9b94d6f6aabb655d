/**
 * Visitor context as callers see it (docs/visitor-context.md), on a real
 * server (port 0, real fetch, real socket.io-client pages): identity and
 * business events in the live visit list, a visit's history, a browser's
 * visits page by page, the Notification API, and the erasure of a browser.
 * Business events and sign-ins come from the pages' own messages.
 */
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, type NotificationDetail } from '../src/protocol/index.js';
import {
  EventStreamClient,
  eventually,
  metricSample,
  startServer,
  TestPage,
  type Reply,
  type TestServer,
} from './support.js';

let server: TestServer;
const pages: TestPage[] = [];
const IDENTITY_SECRET = 'the-shop-signs-its-customers';

beforeAll(async () => {
  // Visits end 50 ms after their last page closes, so that a browser gets a new visit at its next page.
  server = await startServer({ visitIdleMs: 50, identitySecret: IDENTITY_SECRET });
});
afterAll(async () => {
  for (const page of pages) page.close();
  await server.close();
});

async function open(auth: Parameters<typeof TestPage.open>[1] = {}): Promise<TestPage> {
  const page = await TestPage.open(server.url, auth);
  pages.push(page);
  return page;
}

function expectFault(reply: Reply, code: keyof typeof FAULTS, status: number = FAULTS[code].status): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.body).toMatchObject({ status: 'FAULT', code });
  expect(typeof reply.body.message).toBe('string');
}

/** A page's business event, sent as the widget's `Beckon.track` sends it. */
async function track(page: TestPage, name: string, data: Record<string, string | number | boolean> = {}) {
  expect(await page.socket.timeout(5000).emitWithAck('visit:track', { name, data })).toEqual({ ok: true });
}

/** A sign-in with the site server's token, so that it is verified. */
async function signIn(page: TestPage, userId: string, traits: Record<string, string | number | boolean> = {}) {
  const token = createHmac('sha256', IDENTITY_SECRET).update(userId).digest('hex');
  expect(await page.socket.timeout(5000).emitWithAck('visit:sign-in', { userId, traits, token })).toEqual({
    ok: true,
  });
}

/** Closes a page and waits until its visit has ended (the server's idle limit is 50 ms). */
async function endVisitOf(page: TestPage): Promise<void> {
  page.close();
  await eventually(async () => {
    const visit = await server.beckon.store.getVisit(page.session.visitId);
    expect(visit?.idleSince).not.toBeNull();
  });
  await new Promise((resolve) => setTimeout(resolve, 60));
  await server.beckon.store.endVisit(page.session.visitId, Date.now());
}

/** What a page receives from the Notification API; it acknowledges each with its pageId, as the widget does. */
function notificationsOf(page: TestPage): NotificationDetail[] {
  const received: NotificationDetail[] = [];
  page.socket.on('notification', (detail, ack) => {
    received.push(detail);
    ack(page.session.pageId);
  });
  return received;
}

describe('the live visit list', () => {
  it('shows each visit’s identity and its ten latest business events, newest first', async () => {
    const page = await open();
    const fresh = (await server.get('/backend/data/visits')).body.visits.find(
      (v: { visitId: string }) => v.visitId === page.session.visitId,
    );
    expect(fresh).toMatchObject({ identity: null, events: [] });

    for (let n = 1; n <= 12; n++) await track(page, 'cart.updated', { total: n * 10, step: `s${n}` });
    await signIn(page, 'customer-42', { tier: 'gold' });
    const reply = await server.get('/server/data/visits');
    expect(reply.status).toBe(200);
    const visit = reply.body.visits.find((v: { visitId: string }) => v.visitId === page.session.visitId);
    expect(visit.identity).toEqual({
      userId: 'customer-42',
      verified: true,
      traits: { tier: 'gold' },
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(visit.events).toHaveLength(10);
    expect(visit.events.map((e: { data: { total: number } }) => e.data.total)).toEqual([
      120, 110, 100, 90, 80, 70, 60, 50, 40, 30,
    ]);
    expect(visit.events[0]).toEqual({
      name: 'cart.updated',
      data: { total: 120, step: 's12' },
      at: expect.stringMatching(/Z$/),
      pageId: page.session.pageId,
    });
  });
});

describe('a visit’s history', () => {
  it('answers a live visit with its pages, identity, business events and attempts', async () => {
    const first = await open({ page: { url: 'https://shop.test/a', title: 'A', visible: true, focused: true } });
    const second = await open({
      visitToken: first.session.visitToken,
      page: { url: 'https://shop.test/b', title: 'B', visible: false, focused: false },
    });
    await track(first, 'viewed', { sku: 'X1' });
    await track(second, 'added', { sku: 'X1', qty: 2 });
    await signIn(second, 'u-7');
    expect(await server.engage({ interactionId: 'hist-1', visitId: first.session.visitId })).toMatchObject({
      status: 200,
    });
    await server.noengage({ interactionId: 'hist-1', reason: 'no-agents' });
    second.close();
    await eventually(async () =>
      expect(await server.beckon.store.getPage(second.session.pageId)).toMatchObject({
        closedAt: expect.any(Number),
      }),
    );

    for (const prefix of ['/backend/data', '/server/data']) {
      const reply = await server.get(`${prefix}/visits/${first.session.visitId}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        visitId: first.session.visitId,
        globalVisitId: first.session.globalVisitId,
        startedAt: expect.stringMatching(/Z$/),
        endedAt: null,
        identity: { userId: 'u-7', verified: true, traits: {} },
        pages: [
          { pageId: first.session.pageId, url: 'https://shop.test/a', title: 'A', leftAt: null },
          {
            pageId: second.session.pageId,
            url: 'https://shop.test/b',
            title: 'B',
            leftAt: expect.stringMatching(/Z$/),
          },
        ],
        events: [
          { name: 'added', data: { sku: 'X1', qty: 2 }, pageId: second.session.pageId },
          { name: 'viewed', data: { sku: 'X1' }, pageId: first.session.pageId },
        ],
        attempts: [{ interactionId: 'hist-1', state: 'cancelled', reason: 'no-agents' }],
      });
      expect(reply.body.pages[0].enteredAt).toMatch(/Z$/);
    }
  });

  it('answers an ended visit with its end', async () => {
    const page = await open();
    await track(page, 'left.soon');
    await endVisitOf(page);
    const reply = await server.get(`/backend/data/visits/${page.session.visitId}`);
    expect(reply.status).toBe(200);
    expect(reply.body.endedAt).toMatch(/Z$/);
    expect(reply.body.pages).toEqual([expect.objectContaining({ leftAt: expect.stringMatching(/Z$/) })]);
    expect(reply.body.events).toEqual([expect.objectContaining({ name: 'left.soon' })]);
  });

  it('answers 404 UNKNOWN_VISIT once retention has pruned the visit', async () => {
    const page = await open();
    await track(page, 'soon.pruned');
    await endVisitOf(page);
    expect((await server.get(`/backend/data/visits/${page.session.visitId}`)).status).toBe(200);
    // Retention as its hourly run does it, with every visit that ended before now past its time.
    while ((await server.beckon.store.pruneVisits(Date.now() + 1, 100)) === 100);
    expectFault(await server.get(`/backend/data/visits/${page.session.visitId}`), 'UNKNOWN_VISIT', 404);
  });

  it('answers 404 UNKNOWN_VISIT for a visit it does not know, 400 for an id that cannot be one', async () => {
    expectFault(await server.get('/backend/data/visits/AAAAAAAAAAAAAAAAAAAAAA'), 'UNKNOWN_VISIT', 404);
    expect((await server.get('/backend/data/visits/AAAAAAAAAAAAAAAAAAAAAA')).body.message).toMatch(/erased/);
    for (const bad of ['short', 'x'.repeat(23), '%F0%9F%98%80'.repeat(22), 'AAAAAAAAAAAAAAAAAAAAA%2F']) {
      const reply = await server.get(`/backend/data/visits/${bad}`);
      expectFault(reply, 'INVALID_PARAMETER');
      expect(reply.body.details).toEqual([{ path: 'visitId', message: expect.any(String) }]);
    }
  });
});

describe('a browser’s visits', () => {
  it('lists them newest first, page by page, with an opaque cursor', async () => {
    let page = await open();
    const globalVisitId = page.session.globalVisitId;
    const visitIds = [page.session.visitId];
    for (let n = 0; n < 4; n++) {
      await endVisitOf(page);
      page = await open({ visitToken: page.session.visitToken });
      expect(page.session.globalVisitId).toBe(globalVisitId);
      expect(page.session.visitId).not.toBe(visitIds.at(-1));
      visitIds.push(page.session.visitId);
    }
    const newestFirst = [...visitIds].reverse();

    const all = await server.get(`/backend/data/visitors/${globalVisitId}/visits`);
    expect(all.status).toBe(200);
    expect(all.body.visits.map((v: { visitId: string }) => v.visitId)).toEqual(newestFirst);
    expect(all.body.next).toBeNull();
    expect(all.body.visits[0]).toMatchObject({ globalVisitId, endedAt: null, pages: [expect.any(Object)] });
    expect(all.body.visits[1].endedAt).toMatch(/Z$/);

    const seen: string[] = [];
    let cursor: string | null = null;
    let rounds = 0;
    do {
      const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const reply = await server.get(`/server/data/visitors/${globalVisitId}/visits${query}`);
      expect(reply.status).toBe(200);
      expect(reply.body.visits.length).toBeLessThanOrEqual(2);
      seen.push(...reply.body.visits.map((v: { visitId: string }) => v.visitId));
      cursor = reply.body.next;
      rounds++;
    } while (cursor !== null);
    expect(rounds).toBe(3);
    expect(seen).toEqual(newestFirst);

    // A browser nobody knows has no visits.
    expect((await server.get('/backend/data/visitors/BBBBBBBBBBBBBBBBBBBBBB/visits')).body).toEqual({
      visits: [],
      next: null,
    });
  });

  it('refuses a bad limit, cursor, parameter or id with INVALID_PARAMETER naming it', async () => {
    const base = '/backend/data/visitors/BBBBBBBBBBBBBBBBBBBBBB/visits';
    const cases: [string, string][] = [
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=2.5', 'limit'],
      ['?limit=ten', 'limit'],
      ['?limit=1&limit=2', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
      [`?cursor=${Buffer.from('[1,"x"]').toString('base64url')}`, 'cursor'],
      [`?cursor=${'A'.repeat(201)}`, 'cursor'],
      ['?order=asc', 'order'],
    ];
    for (const [query, path] of cases) {
      const reply = await server.get(base + query);
      expectFault(reply, 'INVALID_PARAMETER');
      expect(reply.body.details?.[0]?.path, query).toBe(path);
    }
    expectFault(await server.get('/backend/data/visitors/nope/visits'), 'INVALID_PARAMETER');
  });
});

describe('the Notification API', () => {
  it('reaches every open page of the visit, and only those', async () => {
    const first = await open();
    const second = await open({ visitToken: first.session.visitToken });
    const stranger = await open();
    const [toFirst, toSecond, toStranger] = [first, second, stranger].map(notificationsOf);
    const reply = await server.post(`/server/data/notification/notify/${first.session.visitId}`, [
      { channel: 'offer', data: { code: 'SPRING', percent: 10, nested: { ok: true } } },
    ]);
    expect(reply).toMatchObject({ status: 200, body: { status: 'OK', delivered: 2 } });
    const expected = { channel: 'offer', data: { code: 'SPRING', percent: 10, nested: { ok: true } } };
    expect(toFirst).toEqual([expected]);
    expect(toSecond).toEqual([expected]);
    expect(toStranger).toEqual([]);
  });

  it('reaches only the page a message names, in the order sent, and counts each page once', async () => {
    const first = await open();
    const second = await open({ visitToken: first.session.visitToken });
    const stranger = await open();
    const toFirst = notificationsOf(first);
    const toSecond = notificationsOf(second);
    const path = `/frontend/data/notification/notify/${first.session.visitId}`;

    const one = await server.post(path, [{ page: second.session.pageId, channel: 'agent', data: { name: 'Ann' } }]);
    expect(one.body).toEqual({ status: 'OK', delivered: 1 });
    expect(toFirst).toEqual([]);
    expect(toSecond).toEqual([{ channel: 'agent', data: { name: 'Ann' } }]);

    const both = await server.post(path, [
      { channel: 'a', data: { n: 1 } },
      { page: first.session.pageId, channel: 'b' },
      { channel: 'c', data: { n: 3 } },
    ]);
    expect(both.body).toEqual({ status: 'OK', delivered: 2 });
    expect(toFirst.map((d) => d.channel)).toEqual(['a', 'b', 'c']);
    expect(toFirst[1]).toEqual({ channel: 'b', data: {} });
    expect(toSecond.map((d) => d.channel)).toEqual(['agent', 'a', 'c']);

    // A page of another visit, or one that is not open, is not reached.
    const elsewhere = await server.post(path, [{ page: stranger.session.pageId, channel: 'x' }]);
    expect(elsewhere.body).toEqual({ status: 'OK', delivered: 0 });
    const metrics = await server.get('/metrics');
    expect(metricSample(metrics.body, 'beckon_notifications_total')).toBeGreaterThanOrEqual(3);
  });

  it('answers 400 UNKNOWN_VISIT for a visit that is unknown or has ended', async () => {
    expectFault(
      await server.post('/server/data/notification/notify/CCCCCCCCCCCCCCCCCCCCCC', [{ channel: 'x' }]),
      'UNKNOWN_VISIT',
    );
    const page = await open();
    await endVisitOf(page);
    expectFault(
      await server.post(`/server/data/notification/notify/${page.session.visitId}`, [{ channel: 'x' }]),
      'UNKNOWN_VISIT',
    );
  });

  it('refuses a body that is not 1–10 valid messages, naming the field', async () => {
    const page = await open();
    const received = notificationsOf(page);
    const path = `/server/data/notification/notify/${page.session.visitId}`;
    const deep = (levels: number): Record<string, unknown> => (levels === 1 ? { v: 1 } : { d: deep(levels - 1) });
    const cases: [unknown, string][] = [
      [{ channel: 'x' }, 'body'],
      ['text', 'body'],
      [[], 'body'],
      [Array.from({ length: 11 }, () => ({ channel: 'x' })), 'body'],
      [[{}], '0.channel'],
      [[{ channel: '1bad' }], '0.channel'],
      [[{ channel: 'x', data: [1, 2] }], '0.data'],
      [[{ channel: 'x', data: 'text' }], '0.data'],
      [[{ channel: 'x', data: { big: 'é'.repeat(5000) } }], '0.data'],
      [[{ channel: 'x', data: deep(9) }], '0.data.d.d.d.d.d.d.d.d'],
      [[{ channel: 'x', page: '' }], '0.page'],
      [[{ channel: 'x', page: 7 }], '0.page'],
      [[{ channel: 'x', extra: 1 }], '0'],
      [[{ channel: 'ok' }, { channel: 'x', data: { a: { constructor: 1 } } }], '1.data.a.constructor'],
    ];
    for (const [body, where] of cases) {
      const reply = await server.post(path, body);
      expectFault(reply, 'INVALID_PARAMETER');
      expect(reply.body.details?.[0]?.path ?? 'body', JSON.stringify(body).slice(0, 80)).toBe(where);
    }
    // Ten messages of 8 KB each fit; a body past 96 KB does not.
    const full = { channel: 'full', data: { text: 'x'.repeat(8192 - 11) } };
    const ten = await server.post(
      path,
      Array.from({ length: 10 }, () => full),
    );
    expect(ten.body).toEqual({ status: 'OK', delivered: 1 });
    const huge = await server.post(
      path,
      Array.from({ length: 10 }, () => ({ channel: 'x', data: { t: 'é'.repeat(5000) } })),
    );
    expectFault(huge, 'PAYLOAD_TOO_LARGE');
    expect(huge.body.message).toContain('96 KB');
    // Eight levels of data are fine.
    expect((await server.post(path, [{ channel: 'x', data: deep(8) }])).body).toEqual({ status: 'OK', delivered: 1 });
    const poisoned = await server.post(path, '[{"channel":"x","data":{"__proto__":{"polluted":true}}}]');
    expectFault(poisoned, 'INVALID_PARAMETER');
    expectFault(await server.post('/server/data/notification/notify/nope', [{ channel: 'x' }]), 'INVALID_PARAMETER');
    expect(received).toHaveLength(11);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('erasure', () => {
  it('removes a browser’s visits, disconnects its pages, says what went, and a second call finds nothing', async () => {
    // An ended visit, then a live one with two open pages and an attempt in progress.
    const earlier = await open();
    const globalVisitId = earlier.session.globalVisitId;
    await track(earlier, 'viewed', { sku: 'A' });
    await endVisitOf(earlier);
    const first = await open({ visitToken: earlier.session.visitToken });
    const second = await open({ visitToken: first.session.visitToken });
    expect(first.session.globalVisitId).toBe(globalVisitId);
    await signIn(first, 'erase-me@example.com', { tier: 'gold' });
    await track(second, 'cart', { total: 120 });
    await server.engage({ interactionId: 'erase-1', visitId: first.session.visitId });
    const bystander = await open();

    const stream = await EventStreamClient.open(server.url, '?types=visitor.*');
    const disconnected = [first, second].map(
      (page) => new Promise<void>((resolve) => page.socket.once('disconnect', () => resolve())),
    );
    const reply = await server.delete(`/backend/data/visitors/${globalVisitId}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      status: 'OK',
      erased: { visits: 2, pages: 3, events: expect.any(Number), attempts: 1 },
    });
    expect(reply.body.erased.events).toBeGreaterThanOrEqual(2);
    await Promise.all(disconnected);
    expect(bystander.socket.connected).toBe(true);

    const erased = await stream.next((e) => e.type === 'visitor.erased');
    expect(erased).toMatchObject({ visitId: null, pageId: null, interactionId: null, data: reply.body.erased });
    expect(JSON.stringify(erased)).not.toContain(globalVisitId);
    stream.close();

    for (const visitId of [earlier.session.visitId, first.session.visitId]) {
      expectFault(await server.get(`/backend/data/visits/${visitId}`), 'UNKNOWN_VISIT', 404);
    }
    expect((await server.get(`/backend/data/visitors/${globalVisitId}/visits`)).body).toEqual({
      visits: [],
      next: null,
    });
    const live = (await server.get('/backend/data/visits')).body.visits.map((v: { visitId: string }) => v.visitId);
    expect(live).not.toContain(first.session.visitId);
    expect(live).toContain(bystander.session.visitId);
    expectFault(await server.status('erase-1'), 'UNKNOWN_ENGAGEMENT');

    const again = await server.delete(`/server/data/visitors/${globalVisitId}`);
    expect(again.body).toEqual({ status: 'OK', erased: { visits: 0, pages: 0, events: 0, attempts: 0 } });
    const metrics = (await server.get('/metrics')).body;
    expect(metricSample(metrics, 'beckon_erasures_total')).toBe(2);
    expect(metricSample(metrics, 'beckon_erased_records_total{kind="visits"}')).toBe(2);
  });

  it('gives the erased browser’s old token a new browser id', async () => {
    const page = await open();
    const { globalVisitId, visitToken } = page.session;
    const gone = new Promise<void>((resolve) => page.socket.once('disconnect', () => resolve()));
    expect((await server.delete(`/backend/data/visitors/${globalVisitId}`)).status).toBe(200);
    await gone;
    const back = await open({ visitToken });
    expect(back.session.globalVisitId).not.toBe(globalVisitId);
    expect(back.session.visitId).not.toBe(page.session.visitId);
  });

  it('refuses an id that cannot be a browser’s, and changes nothing', async () => {
    for (const bad of ['short', 'x'.repeat(23), '%00'.repeat(22), 'AAAAAAAAAAAAAAAAAAAAA.']) {
      const reply = await server.delete(`/backend/data/visitors/${bad}`);
      expectFault(reply, 'INVALID_PARAMETER');
      expect(reply.body.details).toEqual([{ path: 'globalVisitId', message: expect.any(String) }]);
    }
  });
});

describe('floods', () => {
  it('throttles a flood of notifications and erasures with RATE_LIMITED, and keeps serving', async () => {
    const limited = await startServer({ rateLimitPerMinute: 10 });
    try {
      const page = await TestPage.open(limited.url);
      const received = notificationsOf(page);
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, n) =>
          n % 2 === 0
            ? limited.post(`/server/data/notification/notify/${page.session.visitId}`, [{ channel: 'flood' }])
            : limited.delete('/backend/data/visitors/nope'),
        ),
      );
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(20);
      for (const reply of replies.filter((r) => r.status === 429)) {
        expect(reply.body).toMatchObject({ status: 'FAULT', code: 'RATE_LIMITED' });
        expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      const sent = replies.filter((reply, n) => n % 2 === 0 && reply.status === 200).length;
      expect(received).toHaveLength(sent);
      expect((await limited.get('/healthz')).status).toBe(200);
      expect(page.socket.connected).toBe(true);
      page.close();
    } finally {
      await limited.close();
    }
  });
});

describe('logs', () => {
  it('never hold notification, identity or event data read or sent through the API', async () => {
    const SECRET_VALUE = 'kept-out-of-the-logs-5d2a';
    const lines: string[] = [];
    const logged = await startServer(
      { logLevel: 'trace' },
      {
        logger: {
          level: 'trace',
          stream: new Writable({
            write(chunk, _encoding, done) {
              lines.push(String(chunk));
              done();
            },
          }),
        },
      },
    );
    try {
      const page = await TestPage.open(logged.url);
      page.socket.on('notification', (_detail, ack) => ack(page.session.pageId));
      expect(
        await page.socket.timeout(5000).emitWithAck('visit:track', { name: 'note', data: { note: SECRET_VALUE } }),
      ).toEqual({ ok: true });
      const path = `/server/data/notification/notify/${page.session.visitId}`;
      expect((await logged.post(path, [{ channel: 'x', data: { note: SECRET_VALUE } }])).body.delivered).toBe(1);
      expect((await logged.post(path, [{ channel: 'x', data: SECRET_VALUE }])).status).toBe(400);
      expect((await logged.post(path, [{ channel: `${SECRET_VALUE} !` }])).status).toBe(400);
      expect(JSON.stringify((await logged.get('/backend/data/visits')).body)).toContain(SECRET_VALUE);
      expect(JSON.stringify((await logged.get(`/backend/data/visits/${page.session.visitId}`)).body)).toContain(
        SECRET_VALUE,
      );
      expect((await logged.delete(`/backend/data/visitors/${page.session.globalVisitId}`)).status).toBe(200);
      page.close();
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.includes(SECRET_VALUE))).toEqual([]);
    } finally {
      await logged.close();
    }
  });
});

describe('the OpenAPI document', () => {
  it('describes every route of visitor context, with no reference left dangling', async () => {
    const doc = (await server.get('/openapi.json')).body;
    for (const prefix of ['/backend/data', '/server/data']) {
      expect(doc.paths[`${prefix}/visits/{visitId}`].get.responses['404'].description).toContain('UNKNOWN_VISIT');
      expect(doc.paths[`${prefix}/visitors/{globalVisitId}/visits`].get).toBeDefined();
      expect(doc.paths[`${prefix}/visitors/{globalVisitId}`].delete).toBeDefined();
    }
    for (const prefix of ['/server/data', '/frontend/data']) {
      expect(doc.paths[`${prefix}/notification/notify/{visitId}`].post.requestBody).toBeDefined();
    }
    expect(doc.components.schemas.VisitList.properties.visits.items.required).toEqual(
      expect.arrayContaining(['identity', 'events']),
    );
    const text = JSON.stringify(doc);
    expect(text).not.toContain('"#/$defs/');
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      expect(doc.components.schemas[name!], name).toBeDefined();
    }
  });
});
