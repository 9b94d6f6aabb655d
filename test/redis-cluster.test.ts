/**
 * Several nodes act as one (issue #12, first step): a backend that never
 * listens for sockets and frontends that hold the pages, sharing one Redis
 * (store and socket.io's streams adapter). Real servers on port 0, a real
 * redis-server, real socket.io clients; each node is its own Beckon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { eventually, EventStreamClient, startServer, TestPage, type TestServer } from './support.js';

let redis: RedisServer;
let backend: TestServer;
let frontA: TestServer;
let frontB: TestServer;
const pages: TestPage[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const shared = { redisUrl: redis.url, redisPrefix: 'cluster:' };
  backend = await startServer({ ...shared, role: 'backend' });
  frontA = await startServer({ ...shared, role: 'frontend' });
  frontB = await startServer({ ...shared, role: 'frontend' });
});
afterAll(async () => {
  for (const page of pages) page.close();
  for (const node of [frontA, frontB, backend]) await node?.close();
  await redis?.dispose();
});

async function open(node: TestServer, auth: Parameters<typeof TestPage.open>[1] = {}): Promise<TestPage> {
  const page = await TestPage.open(node.url, auth);
  pages.push(page);
  return page;
}

describe('roles', () => {
  it('each node serves only its own role: the other role’s routes are 404 FAULTs', async () => {
    expect((await backend.get('/backend/data/visits')).status).toBe(200);
    expect((await backend.get('/console/')).status).toBe(200);
    expect((await backend.get('/docs/')).status).toBe(200);
    expect((await backend.get('/openapi.json')).status).toBe(200);
    for (const path of ['/', '/products.html', '/widget/beckon.js', '/socket.io/?EIO=4&transport=websocket']) {
      const reply = await backend.get(path);
      expect(reply.status, path).toBe(404);
      expect(reply.body, path).toMatchObject({ status: 'FAULT', code: 'NOT_FOUND' });
    }

    expect((await frontA.get('/')).status).toBe(200);
    expect((await frontA.get('/widget/beckon.js')).status).toBe(200);
    for (const path of ['/backend/data/visits', '/server/data/gateway/engagements/x', '/backend/data/events', '/console/', '/docs/', '/openapi.json']) {
      const reply = await frontA.get(path);
      expect(reply.status, path).toBe(404);
      expect(reply.body, path).toMatchObject({ status: 'FAULT', code: 'NOT_FOUND' });
    }
    // Both answer health checks and metrics.
    for (const node of [backend, frontA]) {
      expect((await node.get('/readyz')).status).toBe(200);
      expect((await node.get('/metrics')).status).toBe(200);
    }
  });
});

describe('fan-out through Redis', () => {
  it('an engage on the backend reaches the page on its frontend, and the answer comes back', async () => {
    const page = await open(frontA);
    const events = await EventStreamClient.open(backend.url, `?visitId=${page.session.visitId}&types=engagement.*`);
    const reply = await backend.engage({ interactionId: 'fan-1', visitId: page.session.visitId, channels: ['chat'] });
    expect(reply).toMatchObject({ status: 200, body: { state: 'pending' } });
    await page.next('invitation:start', (offer) => offer.interactionId === 'fan-1');
    expect(await page.shown('fan-1')).toEqual({ ok: true, state: 'delivered' });
    expect(await page.answer('fan-1', 'accepted', 'chat')).toEqual({ ok: true, state: 'accepted' });
    expect((await backend.status('fan-1')).body).toMatchObject({ state: 'accepted', channel: 'chat' });
    await events.until((c) => c.events.some((e) => e.type === 'engagement.accepted'));
    expect(events.events.map((e) => e.type)).toEqual(['engagement.pending', 'engagement.delivered', 'engagement.accepted']);
    events.close();
  });

  it('noengage on the backend withdraws the invitation from the page at once', async () => {
    const page = await open(frontB);
    await backend.engage({ interactionId: 'fan-2', visitId: page.session.visitId });
    await page.next('invitation:start', (offer) => offer.interactionId === 'fan-2');
    await page.shown('fan-2');
    await backend.noengage({ interactionId: 'fan-2', reason: 'no-agents' });
    expect(await page.next('invitation:withdraw', (w) => w.interactionId === 'fan-2')).toEqual({
      interactionId: 'fan-2',
      state: 'cancelled',
    });
  });

  it('two tabs of one visit on different frontends share the visit; the invitation shows on one and leaves both', async () => {
    const first = await open(frontA, { page: { url: 'https://shop.test/a', title: 'A', visible: false, focused: false } });
    const second = await open(frontB, {
      visitToken: first.session.visitToken,
      page: { url: 'https://shop.test/b', title: 'B', visible: true, focused: true },
    });
    expect(second.session.visitId).toBe(first.session.visitId);
    await backend.engage({ interactionId: 'fan-3', visitId: first.session.visitId });
    // The tab the visitor looks at (on the other frontend) gets it; the other never does.
    await second.next('invitation:start', (offer) => offer.interactionId === 'fan-3');
    await second.shown('fan-3');
    await second.answer('fan-3', 'declined');
    for (const tab of [first, second]) {
      expect(await tab.next('invitation:withdraw', (w) => w.interactionId === 'fan-3')).toEqual({
        interactionId: 'fan-3',
        state: 'declined',
      });
    }
    expect(first.count('invitation:start', (offer) => offer.interactionId === 'fan-3')).toBe(0);
  });

  it('when a tab closes on one frontend, its shown invitation moves to the tab on the other, with its time left', async () => {
    const first = await open(frontA);
    const second = await open(frontB, {
      visitToken: first.session.visitToken,
      page: { url: 'https://shop.test/b', title: 'B', visible: false, focused: false },
    });
    await backend.engage({ interactionId: 'fan-4', visitId: first.session.visitId, timeoutSeconds: 60 });
    await first.next('invitation:start', (offer) => offer.interactionId === 'fan-4');
    await first.shown('fan-4');
    first.close();
    const moved = await second.next('invitation:start', (offer) => offer.interactionId === 'fan-4');
    expect(moved.remainingMs).toBeLessThanOrEqual(60_000);
    expect(moved.remainingMs).toBeGreaterThan(50_000);
    await eventually(async () => expect((await backend.status('fan-4')).body.shownPageId).toBe(second.session.pageId));
  });
});
