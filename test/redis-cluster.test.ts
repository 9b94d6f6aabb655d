/**
 * Several nodes act as one (docs/architecture.md): a backend that never
 * listens for sockets and frontends that hold the pages, sharing one Redis
 * (store and socket.io's streams adapter). Real servers on port 0, a real
 * redis-server, real socket.io clients; each node is its own Beckon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFanout } from '../src/cluster/fanout.js';
import { ixnProfileSchema } from '../src/protocol/index.js';
import { createFanoutClient } from '../src/store/redis/connection.js';
import { startBeckonProcess, type BeckonProcess } from './process.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { eventually, EventStreamClient, startServer, TestPage, type TestServer } from './support.js';

let redis: RedisServer;
let backend: TestServer;
let frontA: TestServer;
let frontB: TestServer;
const pages: TestPage[] = [];
const children: BeckonProcess[] = [];
/** The secret every node shares (test/support.ts signs with it too). */
const SECRET = 'test-secret-for-signing-visit-tokens';
/** The in-process nodes look for dead nodes often, so a test need not wait 5 s per look. */
const quickReaper = { presence: { reapEveryMs: 250 } };

beforeAll(async () => {
  redis = await startRedisServer();
  const shared = { redisUrl: redis.url, redisPrefix: 'cluster:' };
  backend = await startServer({ ...shared, role: 'backend', nodeId: 'back-1' }, quickReaper);
  frontA = await startServer({ ...shared, role: 'frontend', nodeId: 'front-a' }, quickReaper);
  frontB = await startServer({ ...shared, role: 'frontend', nodeId: 'front-b' }, quickReaper);
});
afterAll(async () => {
  for (const page of pages) page.close();
  for (const child of children) await child.stop('SIGKILL');
  for (const node of [frontA, frontB, backend]) await node?.close();
  await redis?.dispose();
});

/** A frontend in a process of its own, so that it can be killed with -9. */
async function frontendProcess(nodeId: string, port?: number): Promise<BeckonProcess> {
  const child = await startBeckonProcess({
    REDIS_URL: redis.url,
    BECKON_REDIS_PREFIX: 'cluster:',
    BECKON_ROLE: 'frontend',
    BECKON_SECRET: SECRET,
    BECKON_NODE_ID: nodeId,
    ...(port ? { PORT: String(port) } : {}),
  });
  children.push(child);
  return child;
}

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
    for (const path of [
      '/backend/data/visits',
      '/server/data/gateway/engagements/x',
      '/backend/data/events',
      '/console/',
      '/docs/',
      '/openapi.json',
    ]) {
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
    expect(events.events.map((e) => e.type)).toEqual([
      'engagement.pending',
      'engagement.delivered',
      'engagement.accepted',
    ]);
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
    const first = await open(frontA, {
      page: { url: 'https://shop.test/a', title: 'A', visible: false, focused: false },
    });
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

describe('what a page costs Redis', () => {
  it('a page that leaves closes in the store without asking the adapter how many nodes there are (no PUBSUB NUMSUB)', async () => {
    const admin = createFanoutClient(redis.url);
    await admin.connect();
    try {
      const page = await open(frontA);
      const { pageId } = page.session;
      expect(await admin.sIsMember('cluster:open', pageId)).toBeTruthy();
      await admin.configResetStat();
      page.close();
      await eventually(async () => expect(await admin.sIsMember('cluster:open', pageId)).toBeFalsy());
      const calls = new Map<string, number>();
      for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
        calls.set(match[1]!, Number(match[2]));
      }
      expect(calls.get('evalsha') ?? 0).toBeGreaterThanOrEqual(1);
      expect(calls.get('pubsub|numsub') ?? 0).toBe(0);
    } finally {
      await admin.quit();
    }
  });
});

describe('page commands between nodes', () => {
  it("an invitation's start and its settle go to the frontend holding the page alone, not through the adapter's stream", async () => {
    const admin = createFanoutClient(redis.url);
    await admin.connect();
    try {
      const page = await open(frontA);
      const before = (await admin.xRevRange('cluster:socket.io', '+', '-', { COUNT: 1 }))?.[0]?.id ?? '0-0';
      await backend.engage({ interactionId: 'addressed-1', visitId: page.session.visitId });
      await page.next('invitation:start', (offer) => offer.interactionId === 'addressed-1');
      await page.shown('addressed-1');
      await backend.noengage({ interactionId: 'addressed-1' });
      expect(await page.next('invitation:withdraw', (w) => w.interactionId === 'addressed-1')).toMatchObject({
        state: 'cancelled',
      });
      // The adapter's stream still carries its heartbeats, but no page command.
      const since = (await admin.xRange('cluster:socket.io', `(${before}`, '+')) ?? [];
      expect(since.filter((entry) => JSON.stringify(entry.message).includes('addressed-1'))).toEqual([]);
      // Each frontend hears its own channel; the backend, which holds no page, none.
      expect(await admin.pubSubNumSub(['cluster:node:front-a', 'cluster:node:front-b', 'cluster:node:back-1'])).toEqual(
        {
          'cluster:node:front-a': 1,
          'cluster:node:front-b': 1,
          'cluster:node:back-1': 0,
        },
      );
    } finally {
      await admin.quit();
    }
  });
});

describe('visitor context across nodes', () => {
  /** What a page receives from the Notification API; it acknowledges with its pageId, as the widget does. */
  function notificationsOf(page: TestPage): unknown[] {
    const received: unknown[] = [];
    page.socket.on('notification', (detail, ack) => {
      received.push(detail);
      ack(page.session.pageId);
    });
    return received;
  }

  it('a notification sent to the backend reaches the visit’s pages on both frontends, or the one it names', async () => {
    const first = await open(frontA);
    const second = await open(frontB, { visitToken: first.session.visitToken });
    expect(second.session.visitId).toBe(first.session.visitId);
    const [toFirst, toSecond] = [notificationsOf(first), notificationsOf(second)];
    const path = `/server/data/notification/notify/${first.session.visitId}`;
    const all = await backend.post(path, [{ channel: 'offer', data: { percent: 10 } }]);
    expect(all.body).toEqual({ status: 'OK', delivered: 2 });
    expect(toFirst).toEqual([{ channel: 'offer', data: { percent: 10 } }]);
    expect(toSecond).toEqual([{ channel: 'offer', data: { percent: 10 } }]);

    const one = await backend.post(`/frontend/data/notification/notify/${first.session.visitId}`, [
      { page: second.session.pageId, channel: 'agent', data: { name: 'Ann' } },
    ]);
    expect(one.body).toEqual({ status: 'OK', delivered: 1 });
    expect(toSecond).toHaveLength(2);
    expect(toFirst).toHaveLength(1);
  });

  it('a page’s business events on a frontend reach the backend’s event stream and its visit list', async () => {
    const page = await open(frontB);
    const events = await EventStreamClient.open(backend.url, `?visitId=${page.session.visitId}&types=page.event`);
    expect(await page.socket.timeout(5000).emitWithAck('visit:track', { name: 'cart', data: { total: 120 } })).toEqual({
      ok: true,
    });
    const event = await events.next((e) => e.type === 'page.event');
    expect(event).toMatchObject({ name: 'cart', data: { total: 120 }, pageId: page.session.pageId });
    events.close();
    const visit = (await backend.get('/backend/data/visits')).body.visits.find(
      (v: { visitId: string }) => v.visitId === page.session.visitId,
    );
    expect(visit.events).toEqual([expect.objectContaining({ name: 'cart', data: { total: 120 } })]);
  });

  it('an erasure on the backend disconnects the browser’s pages on every frontend; its old token starts a new browser', async () => {
    const first = await open(frontA);
    const second = await open(frontB, { visitToken: first.session.visitToken });
    const bystander = await open(frontB);
    const gone = [first, second].map(
      (page) => new Promise<void>((resolve) => page.socket.once('disconnect', () => resolve())),
    );
    const reply = await backend.delete(`/backend/data/visitors/${first.session.globalVisitId}`);
    expect(reply.body).toMatchObject({ status: 'OK', erased: { visits: 1, pages: 2 } });
    await Promise.all(gone);
    expect(bystander.socket.connected).toBe(true);
    const back = await open(frontB, { visitToken: first.session.visitToken });
    expect(back.session.globalVisitId).not.toBe(first.session.globalVisitId);
    expect((await backend.get(`/backend/data/visits/${first.session.visitId}`)).status).toBe(404);
  });
});

describe('resynchronising pages after an outage of another node', () => {
  it('a node whose Redis connection came back asks every frontend to resend its pages what the store says', async () => {
    const onA = await open(frontA);
    const onB = await open(frontB);
    // Two offers stored whose starts never went out: as when the backend's own connection to Redis
    // dropped with the commands on it, while the frontends' connections stayed up.
    for (const [id, page] of [
      ['resync-a', onA],
      ['resync-b', onB],
    ] as const) {
      const profile = ixnProfileSchema.parse({ interactionId: id, visitId: page.session.visitId, timeoutSeconds: 60 });
      expect(
        (await backend.beckon.store.createAttempt(profile, { exclusive: true, now: Date.now(), place: true })).kind,
      ).toBe('created');
    }
    // The backend's side of the signal, through a fan-out connection of its own (on the real Redis).
    const node = await openFanout(redis.url, 'cluster:', { onError: () => {} });
    try {
      node.requestResync();
      await onA.next('invitation:start', (offer) => offer.interactionId === 'resync-a', 10_000);
      await onB.next('invitation:start', (offer) => offer.interactionId === 'resync-b', 10_000);
    } finally {
      await node.close();
    }
    // Each page only its own, over the socket it had.
    expect(onA.count('invitation:start', (offer) => offer.interactionId === 'resync-b')).toBe(0);
    expect(onB.count('invitation:start', (offer) => offer.interactionId === 'resync-a')).toBe(0);
    for (const page of [onA, onB]) expect(page.count('session')).toBe(1);
  });

  it('the signal stays within its key prefix, and a node does not answer its own', async () => {
    const heard = { otherInstallation: 0, self: 0, peer: 0 };
    const other = await openFanout(redis.url, 'another-install:', {
      onError: () => {},
      onResyncRequested: () => heard.otherInstallation++,
    });
    const self = await openFanout(redis.url, 'cluster:', { onError: () => {}, onResyncRequested: () => heard.self++ });
    const peer = await openFanout(redis.url, 'cluster:', { onError: () => {}, onResyncRequested: () => heard.peer++ });
    try {
      self.requestResync();
      await eventually(async () => expect(heard.peer).toBe(1));
      // Published once to one channel: by the time the peer has it, every subscriber that would have it has.
      expect(heard).toEqual({ otherInstallation: 0, self: 0, peer: 1 });
    } finally {
      for (const fanout of [other, self, peer]) await fanout.close();
    }
  });
});

describe('a frontend that dies', () => {
  it('kill -9: the surviving nodes close its pages, and its shown invitation moves to the visit’s tab on a live frontend with its time left', async () => {
    const doomed = await frontendProcess('front-doomed');
    const tab = await open(doomed as unknown as TestServer);
    const survivor = await open(frontA, {
      visitToken: tab.session.visitToken,
      page: { url: 'https://shop.test/other', title: 'Other', visible: false, focused: false },
    });
    await backend.engage({ interactionId: 'dies-1', visitId: tab.session.visitId, timeoutSeconds: 90 });
    await tab.next('invitation:start', (offer) => offer.interactionId === 'dies-1');
    await tab.shown('dies-1');
    const killedAt = Date.now();
    await doomed.stop('SIGKILL');

    // Its registration runs out (15 s) and a survivor reaps it: within 30 s (docs/lifecycle.md, "Node loss").
    const moved = await survivor.next('invitation:start', (offer) => offer.interactionId === 'dies-1', 30_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(moved.remainingMs).toBeLessThan(90_000 - 10_000);
    expect(moved.remainingMs).toBeGreaterThan(90_000 - 35_000);
    const status = (await backend.status('dies-1')).body;
    expect(status).toMatchObject({ state: 'delivered', shownPageId: survivor.session.pageId });
    const visit = (await backend.get('/backend/data/visits')).body.visits.find(
      (v: any) => v.visitId === tab.session.visitId,
    );
    expect(visit.pages.map((p: any) => p.pageId)).toEqual([survivor.session.pageId]);
  }, 60_000);

  it('a restarted frontend closes only the pages its earlier boot held, before it takes sockets', async () => {
    const first = await frontendProcess('front-restarts');
    const tab = await open(first as unknown as TestServer);
    const elsewhere = await open(frontB);
    const other = await open(frontA, {
      visitToken: tab.session.visitToken,
      page: { url: 'https://shop.test/other', title: 'Other', visible: false, focused: false },
    });
    await backend.engage({ interactionId: 'restart-1', visitId: tab.session.visitId, timeoutSeconds: 90 });
    await tab.next('invitation:start', (offer) => offer.interactionId === 'restart-1');
    await tab.shown('restart-1');
    await first.stop('SIGKILL');
    // Same node id, new boot: long before its old registration runs out, the invitation moves on.
    const restartedAt = Date.now();
    await frontendProcess('front-restarts', first.port);
    await other.next('invitation:start', (offer) => offer.interactionId === 'restart-1', 10_000);
    expect(Date.now() - restartedAt).toBeLessThan(10_000);
    // Pages of other frontends stay open.
    const visits = (await backend.get('/backend/data/visits')).body.visits as any[];
    const openPages = visits.flatMap((v) => v.pages.map((p: any) => p.pageId));
    expect(openPages).toEqual(expect.arrayContaining([elsewhere.session.pageId, other.session.pageId]));
    expect(openPages).not.toContain(tab.session.pageId);
  }, 60_000);
});
