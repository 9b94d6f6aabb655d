/**
 * What a page tells about its visitor (docs/visitor-context.md), over real
 * socket.io connections to a real Beckon on port 0: business events and
 * identity are validated (the field named), limited per page, recorded with
 * their events; sign-ins are verified with the identity secret; an erased
 * browser's old token starts a new browser; notifications reach the open
 * pages of a visit, or one page, and are counted; and none of the data
 * reaches the logs.
 */
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erasureMarkerKey, ERASURE_MARKER_MS } from '../src/core/erasure.js';
import { disconnectVisits, notifyPages } from '../src/frontend/server.js';
import type { ContextAck } from '../src/protocol/index.js';
import { storeSnapshot } from './store-snapshot.js';
import { EventStreamClient, eventually, startServer, TestPage, type TestServer } from './support.js';

const IDENTITY_SECRET = 'the-site-and-beckon-share-this-secret';
/** A value that must never appear in a log line. */
const SECRET_VALUE = 'kept-out-of-the-logs-7c1e';

const logLines: string[] = [];
let server: TestServer;
const pages: TestPage[] = [];

beforeAll(async () => {
  server = await startServer(
    { identitySecret: IDENTITY_SECRET, strict: false, logLevel: 'trace' },
    {
      logger: {
        level: 'trace',
        stream: new Writable({
          write(chunk, _encoding, done) {
            logLines.push(String(chunk));
            done();
          },
        }),
      },
    },
  );
});
afterAll(async () => {
  for (const page of pages) page.close();
  await server.close();
});

async function openPage(auth: Parameters<typeof TestPage.open>[1] = {}): Promise<TestPage> {
  const page = await TestPage.open(server.url, auth);
  pages.push(page);
  return page;
}

function ask(page: TestPage, event: string, ...args: unknown[]): Promise<ContextAck> {
  const socket = page.socket as unknown as {
    timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<ContextAck> };
  };
  return socket.timeout(5000).emitWithAck(event, ...args);
}

const token = (userId: string, secret = IDENTITY_SECRET) =>
  createHmac('sha256', secret).update(userId, 'utf8').digest('hex');

describe('business events from a page', () => {
  it('stores a valid event and sends page.event with its name and data', async () => {
    const page = await openPage();
    const stream = await EventStreamClient.open(server.url, `?types=page.event&visitId=${page.session.visitId}`);
    try {
      expect(
        await ask(page, 'visit:track', { name: 'AddToCart', data: { sku: 'ember-1', price: 42, gift: false } }),
      ).toEqual({
        ok: true,
      });
      expect(await ask(page, 'visit:track', { name: 'Viewed' })).toEqual({ ok: true });
      const event = await stream.next((e) => e.name === 'AddToCart');
      expect(event).toMatchObject({
        type: 'page.event',
        visitId: page.session.visitId,
        pageId: page.session.pageId,
        data: { sku: 'ember-1', price: 42, gift: false },
      });
      expect(await stream.next((e) => e.name === 'Viewed')).toMatchObject({ data: {} });
      const contexts = await server.beckon.store.visitContexts([page.session.visitId], 10);
      expect(contexts.get(page.session.visitId)?.events.map((e) => e.name)).toEqual(['Viewed', 'AddToCart']);
    } finally {
      stream.close();
    }
  });

  it('refuses bad names and data with INVALID_PARAMETER naming the field, and stores nothing', async () => {
    const page = await openPage();
    const before = await storeSnapshot(server.store);
    const cases: [unknown, RegExp][] = [
      [{ name: '1abc' }, /^name: /],
      [{ name: '' }, /^name: /],
      [{ name: 'x'.repeat(65) }, /^name: /],
      [{ name: 42 }, /^name: /],
      [{ name: 'Ok', data: { nested: { a: 1 } } }, /^data\.nested: /],
      [{ name: 'Ok', data: { list: [1, 2] } }, /^data\.list: /],
      [{ name: 'Ok', data: { n: null } }, /^data\.n: /],
      [{ name: 'Ok', data: { big: 'x'.repeat(2100) } }, /^data: .*2048 bytes/],
      [{ name: 'Ok', data: { ['é'.repeat(10)]: 'é'.repeat(1020) } }, /^data: .*2048 bytes/],
      [{ name: 'Ok', data: 'text' }, /^data: /],
      [{ name: 'Ok', extra: 1 }, /^payload: unknown key extra\.$/],
      [{ name: 'Ok', ['k'.repeat(5000)]: 1 }, /^payload: unknown key k{64}…\.$/],
      [JSON.parse('{"name":"Ok","data":{"__proto__":{"polluted":1}}}'), /__proto__/],
      [{ name: 'Ok', data: { constructor: 'x' } }, /constructor/],
      [{ name: 'Ok', data: { prototype: 'x' } }, /prototype/],
      ['AddToCart', /object/],
      [null, /object/],
      [[{ name: 'Ok' }], /object/],
      [42, /object/],
    ];
    for (const [payload, message] of cases) {
      const ack = await ask(page, 'visit:track', payload);
      expect(ack, JSON.stringify(payload)?.slice(0, 80)).toMatchObject({ ok: false, code: 'INVALID_PARAMETER' });
      expect(ack.ok === false && ack.message, JSON.stringify(payload)?.slice(0, 80)).toMatch(message);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await storeSnapshot(server.store)).toEqual(before);
  });

  it('survives messages without an ack, without a payload, or with a function for a payload', async () => {
    const page = await openPage();
    const socket = page.socket as unknown as { emit(event: string, ...args: unknown[]): void };
    const before = await storeSnapshot(server.store);
    socket.emit('visit:track');
    socket.emit('visit:track', { name: '!!' });
    socket.emit('visit:sign-in', 'nobody', 'else');
    socket.emit('visit:user-info', undefined);
    // The ack handed over first, as `emit(event, ack)` does.
    expect(await ask(page, 'visit:track')).toMatchObject({ ok: false, code: 'INVALID_PARAMETER' });
    expect(await storeSnapshot(server.store)).toEqual(before);
    expect(await ask(page, 'visit:track', { name: 'StillServed' })).toEqual({ ok: true });
  });

  it('stores the first 20 events of a page in any 10 s and refuses the rest with RATE_LIMITED', async () => {
    const page = await openPage();
    const other = await openPage();
    const acks = await Promise.all(
      Array.from({ length: 30 }, (_, i) => ask(page, 'visit:track', { name: 'Flood', data: { i } })),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(20);
    expect(acks.filter((a) => !a.ok).map((a) => !a.ok && a.code)).toEqual(Array(10).fill('RATE_LIMITED'));
    // Identity messages share the page's budget; another page has its own.
    expect(await ask(page, 'visit:user-info', { traits: { tier: 'gold' } })).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await ask(other, 'visit:track', { name: 'Calm' })).toEqual({ ok: true });
    const contexts = await server.beckon.store.visitContexts([page.session.visitId], 10);
    expect(contexts.get(page.session.visitId)?.events).toHaveLength(10);
    const history = await server.beckon.store.visitHistory(page.session.visitId);
    expect(history?.events.filter((e) => e.name === 'Flood')).toHaveLength(20);
    expect(history?.identity ?? null).toBeNull();
  });
});

describe('identity from a page', () => {
  it('verifies a sign-in only with the HMAC of its userId under the identity secret', async () => {
    const page = await openPage();
    const stream = await EventStreamClient.open(server.url, `?types=visit.*&visitId=${page.session.visitId}`);
    try {
      const visitId = page.session.visitId;
      // A visit with neither identity nor events has no context at all.
      const identity = async () =>
        (await server.beckon.store.visitContexts([visitId], 1)).get(visitId)?.identity ?? null;

      expect(
        await ask(page, 'visit:sign-in', { userId: 'u-1', traits: { tier: 'gold' }, token: token('u-1') }),
      ).toEqual({
        ok: true,
      });
      expect(await identity()).toMatchObject({ userId: 'u-1', verified: true, traits: { tier: 'gold' } });
      // Upper-case hex is the same token.
      expect(await ask(page, 'visit:sign-in', { userId: 'u-1', token: token('u-1').toUpperCase() })).toEqual({
        ok: true,
      });
      expect(await identity()).toMatchObject({ userId: 'u-1', verified: true });

      for (const wrong of [token('u-2'), token('u-1', 'another-secret-of-16+'), token('u-1').slice(0, 63), 'zz', '']) {
        expect(await ask(page, 'visit:sign-in', { userId: 'u-1', token: wrong })).toEqual({ ok: true });
        expect(await identity()).toMatchObject({ userId: 'u-1', verified: false });
      }
      expect(await ask(page, 'visit:sign-in', { userId: 'u-3' })).toEqual({ ok: true });
      expect(await identity()).toMatchObject({ userId: 'u-3', verified: false });

      expect(await ask(page, 'visit:user-info', { traits: { plan: 'pro' } })).toEqual({ ok: true });
      expect(await identity()).toMatchObject({ userId: 'u-3', traits: { plan: 'pro' } });
      // Each message within the limit, but merged they would pass it: the second is refused and changes nothing.
      expect(await ask(page, 'visit:user-info', { traits: { a: 'x'.repeat(1200) } })).toEqual({ ok: true });
      expect(await ask(page, 'visit:user-info', { traits: { b: 'y'.repeat(1200) } })).toMatchObject({
        ok: false,
        code: 'INVALID_PARAMETER',
        message: expect.stringMatching(/^traits: .*2048/),
      });
      expect(Object.keys((await identity())!.traits).sort()).toEqual(['a', 'plan']);

      expect(await ask(page, 'visit:sign-out', {})).toEqual({ ok: true });
      expect(await identity()).toBeNull();
      // No payload at all is a sign-out too.
      expect(await ask(page, 'visit:sign-out')).toEqual({ ok: true });

      const identified = await stream.next((e) => e.type === 'visit.identified' && e.data.verified === true);
      expect(identified).toMatchObject({ data: { userId: 'u-1', verified: true, traits: { tier: 'gold' } } });
      await stream.next((e) => e.type === 'visit.signed_out');
    } finally {
      stream.close();
    }
  });

  it('refuses bad identity messages naming the field, and stores nothing', async () => {
    const page = await openPage();
    const before = await storeSnapshot(server.store);
    const cases: [string, unknown, RegExp][] = [
      ['visit:sign-in', {}, /^userId: /],
      ['visit:sign-in', { userId: '' }, /^userId: /],
      ['visit:sign-in', { userId: 'u'.repeat(129) }, /^userId: /],
      ['visit:sign-in', { userId: 7 }, /^userId: /],
      ['visit:sign-in', { userId: 'u', token: 'f'.repeat(129) }, /^token: /],
      ['visit:sign-in', { userId: 'u', token: 7 }, /^token: /],
      ['visit:sign-in', { userId: 'u', traits: { a: { b: 1 } } }, /^traits\.a: /],
      ['visit:sign-in', { userId: 'u', verified: true }, /verified/],
      ['visit:user-info', {}, /^traits: /],
      ['visit:user-info', { traits: { x: 'y'.repeat(3000) } }, /^traits: .*2048/],
      ['visit:user-info', { traits: [] }, /^traits: /],
      ['visit:sign-out', { userId: 'u' }, /userId/],
      ['visit:sign-out', 'now', /object/],
    ];
    for (const [event, payload, message] of cases) {
      const ack = await ask(page, event, payload);
      expect(ack, `${event} ${JSON.stringify(payload)?.slice(0, 80)}`).toMatchObject({
        ok: false,
        code: 'INVALID_PARAMETER',
      });
      expect(ack.ok === false && ack.message).toMatch(message);
    }
    expect(await storeSnapshot(server.store)).toEqual(before);
  });
});

describe('an erased browser', () => {
  it('starts a new browser when its old token comes back, and keeps a browser erased earlier than its token', async () => {
    const first = await openPage();
    const { globalVisitId, visitToken } = first.session;
    first.close();
    await server.beckon.store.eraseVisitor(
      globalVisitId,
      {
        key: erasureMarkerKey('test-secret-for-signing-visit-tokens', globalVisitId),
        until: Date.now() + ERASURE_MARKER_MS,
      },
      Date.now(),
    );
    const again = await openPage({ visitToken });
    expect(again.session.globalVisitId).not.toBe(globalVisitId);
    expect(again.session.visitId).not.toBe(first.session.visitId);

    // A token issued after the erasure (the new browser's) resumes as usual.
    const resumed = await openPage({ visitToken: again.session.visitToken });
    expect(resumed.session.globalVisitId).toBe(again.session.globalVisitId);
  });
});

describe('notifications to pages', () => {
  it('reach every open page of a visit, or one page, and count the pages that got them', async () => {
    const first = await openPage();
    const second = await openPage({ visitToken: first.session.visitToken });
    const stranger = await openPage();
    expect(second.session.visitId).toBe(first.session.visitId);
    const io = server.beckon.io;
    const detail = { channel: 'offer', data: { code: 'SPRING', percent: 10 } };

    expect(await notifyPages(io, { visitId: first.session.visitId, pageId: null, detail })).toBe(2);
    expect(await first.next('notification')).toEqual(detail);
    expect(await second.next('notification')).toEqual(detail);

    const one = { channel: 'one', data: {} };
    expect(
      await server.beckon.pages.notify({ visitId: first.session.visitId, pageId: second.session.pageId, detail: one }),
    ).toBe(1);
    await second.next('notification', (n) => n.channel === 'one');
    // A page of another visit is never reached, even when named.
    expect(
      await notifyPages(io, { visitId: first.session.visitId, pageId: stranger.session.pageId, detail: one }),
    ).toBe(0);
    expect(await notifyPages(io, { visitId: 'no-such-visit', pageId: null, detail: one })).toBe(0);
    expect(first.count('notification', (n) => n.channel === 'one')).toBe(0);
    expect(stranger.count('notification')).toBe(0);
  });

  it('counts a page once however many of its sockets answer, and not at all when it does not answer in time', async () => {
    const page = await openPage();
    // The same page load reconnecting while its old socket is still open: one page, two sockets.
    const twin = await openPage({ visitToken: page.session.visitToken, pageToken: page.session.pageToken });
    expect(twin.session.pageId).toBe(page.session.pageId);
    const silent = await openPage({ visitToken: page.session.visitToken });
    // A page that never acknowledges (an old widget): the others are counted when the wait ends.
    silent.socket.off('notification');
    silent.socket.on('notification', () => {});
    const started = Date.now();
    expect(
      await notifyPages(
        server.beckon.io,
        { visitId: page.session.visitId, pageId: null, detail: { channel: 'slow', data: {} } },
        { timeoutMs: 300 },
      ),
    ).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('disconnects every page of the visits named', async () => {
    const page = await openPage();
    const other = await openPage();
    disconnectVisits(server.beckon.io, [page.session.visitId]);
    await eventually(async () => expect(page.socket.connected).toBe(false));
    expect(other.socket.connected).toBe(true);
  });
});

describe('logs', () => {
  it('never hold identity or event data, valid or not', async () => {
    const page = await openPage();
    expect(await ask(page, 'visit:track', { name: 'Logged', data: { note: SECRET_VALUE } })).toEqual({ ok: true });
    await ask(page, 'visit:track', { name: 'Bad', data: { note: SECRET_VALUE, deep: { x: SECRET_VALUE } } });
    await ask(page, 'visit:sign-in', { userId: SECRET_VALUE, token: SECRET_VALUE, traits: { email: SECRET_VALUE } });
    await ask(page, 'visit:sign-in', { userId: SECRET_VALUE, bogus: SECRET_VALUE });
    await ask(page, 'visit:user-info', { traits: { email: SECRET_VALUE } });
    await ask(page, 'visit:user-info', { traits: SECRET_VALUE });
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((line) => line.includes(SECRET_VALUE))).toEqual([]);
  });
});
