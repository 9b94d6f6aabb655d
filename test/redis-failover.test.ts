/**
 * Beckon on Redis with failover when the primary dies (docs/operations.md,
 * "Redis with failover"): a real primary, a replica and three sentinels
 * (`down-after-milliseconds 1000`), or a real six-node Redis Cluster
 * (`cluster-node-timeout 1000`), and kill -9 of the primary holding
 * Beckon's keys while callers engage through the real API. Every call
 * answers within 2 s, a 200 or a 503 FAULT; service is back within 5 s of
 * the death with Sentinel, 10 s in a cluster, and stays back; every acknowledged engage is there after the failover; a
 * page's invitation survives and its answer is recorded; a deadline that
 * came due meanwhile fires once. Then WAIT: with a replica asked for, a
 * write it does not confirm is kept and acted on, and answered
 * NOT_REPLICATED.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSentinelTopology, type SentinelTopology } from '../scripts/cluster/sentinel.js';
import { startRedisCluster } from '../scripts/cluster/redis-cluster.js';
import { hashSlot } from '../src/store/redis/cluster.js';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/open.js';
import { StoreUnavailableError } from '../src/core/store.js';
import { eventually, startServer, TestPage, WebhookReceiver, type TestServer } from './support.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function topologyAndServer(
  overrides: Parameters<typeof startServer>[0] = {},
): Promise<{ topology: SentinelTopology; server: TestServer; config: Parameters<typeof startServer>[0] }> {
  const topology = await startSentinelTopology();
  cleanup.push(() => topology.dispose());
  const config: Parameters<typeof startServer>[0] = {
    redisUrl: null,
    redisSentinel: {
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.name,
      credentials: { username: null, password: null, tls: false },
      sentinelPassword: null,
    },
    redisPrefix: 'ha:',
    ...overrides,
  };
  return { topology, server: await node(config), config };
}

async function openPage(url: string): Promise<TestPage> {
  const page = await TestPage.open(url);
  cleanup.push(() => page.close());
  return page;
}

interface Call {
  id: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  code: string | undefined;
}

/** A Beckon server on Redis with failover, and how to kill the primary that holds its keys. */
interface Failover {
  server: TestServer;
  /** Another node on the same Redis and prefix. */
  another(): Promise<TestServer>;
  killPrimary(): Promise<{ killedAt: number }>;
  /** Service is back within this long of the death. */
  backWithinMs: number;
}

type Overrides = Parameters<typeof startServer>[0];

async function onSentinel(more: Overrides = {}): Promise<Failover> {
  const { topology, server, config } = await topologyAndServer({
    strict: false,
    rateLimitPerMinute: 10_000_000,
    ...more,
  });
  return { server, another: () => node(config), killPrimary: () => topology.killPrimary(), backWithinMs: 5000 };
}

async function node(overrides: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(overrides);
  cleanup.push(() => server.close());
  return server;
}

async function onCluster(more: Overrides = {}): Promise<Failover> {
  const cluster = await startRedisCluster();
  cleanup.push(() => cluster.dispose());
  const config: Parameters<typeof startServer>[0] = {
    redisUrl: null,
    redisCluster: {
      nodes: cluster.nodes.map(({ host, port }) => ({ host, port })),
      credentials: { username: null, password: null, tls: false },
    },
    redisPrefix: 'ha:',
    strict: false,
    // The callers below refuse fast during the outage: not a rate to throttle.
    rateLimitPerMinute: 10_000_000,
    ...more,
  };
  const server = await node(config);
  return {
    server,
    another: () => node(config),
    async killPrimary() {
      const primary = await cluster.primaryFor('{ha}:seq');
      return cluster.kill(primary.port);
    },
    backWithinMs: 10_000,
  };
}

describe.each([
  ['Sentinel', onSentinel],
  ['a Redis Cluster', onCluster],
])('kill -9 of the Redis primary in %s', (_, start) => {
  it('answers every call within 2 s, is back in time, and keeps every acknowledged engage, a shown invitation and a deadline', async () => {
    const hook = await WebhookReceiver.start();
    cleanup.push(() => hook.close());
    const { server, killPrimary, backWithinMs } = await start({
      webhookUrl: hook.url,
      webhookSecret: 'failover-webhook-secret',
      webhookEvents: ['engagement.accepted', 'engagement.timed_out'],
      webhookRetryBaseMs: 100,
    });
    const page = await openPage(server.url);
    const { visitId } = page.session;

    // An invitation on screen before the death, answered after it.
    expect((await server.engage({ interactionId: 'kept', visitId, timeoutSeconds: 120 })).status).toBe(200);
    await page.next('invitation:start', (offer) => offer.interactionId === 'kept');
    expect((await page.shown('kept')).ok).toBe(true);
    // An invitation on another visit's page whose time runs out while the primary is dead (5 s after
    // it shows; the primary dies 4 s after it shows).
    const other = await openPage(server.url);
    const otherVisit = other.session.visitId;
    expect((await server.engage({ interactionId: 'due', visitId: otherVisit, timeoutSeconds: 5 })).status).toBe(200);
    await other.next('invitation:start', (offer) => offer.interactionId === 'due');
    expect((await other.shown('due')).ok).toBe(true);
    const killAt = Date.now() + 4000;

    const calls: Call[] = [];
    let stop = false;
    let n = 0;
    const caller = async () => {
      while (!stop) {
        const id = `load-${n++}`;
        const sentAt = Date.now();
        const reply = await server.engage({ interactionId: id, visitId, expirationSeconds: 600 });
        calls.push({ id, sentAt, answeredAt: Date.now(), status: reply.status, code: reply.body?.code });
        // Keep the visit's queue short: cancel what was engaged (its outcome is not what is measured).
        if (reply.status === 200) await server.noengage({ interactionId: id, visitId });
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const callers = Array.from({ length: 4 }, caller);
    await new Promise((resolve) => setTimeout(resolve, killAt - Date.now()));
    const readyBefore = await server.get('/readyz');
    const killed = await killPrimary();
    let sawUnready = false;
    const readiness = (async () => {
      while (!stop) {
        if ((await server.get('/readyz')).status === 503) sawUnready = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, backWithinMs + 3000));
    stop = true;
    await Promise.all([...callers, readiness]);

    expect(readyBefore.status).toBe(200);
    expect(sawUnready).toBe(true);
    expect((await server.get('/readyz')).status).toBe(200);
    // Every call answered within 2 s, a 200 or a 503 STORE_UNAVAILABLE FAULT.
    const slowest = Math.max(...calls.map((call) => call.answeredAt - call.sentAt));
    expect(slowest).toBeLessThan(2000);
    const refused = calls.filter((call) => call.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const call of refused) expect([call.status, call.code]).toEqual([503, 'STORE_UNAVAILABLE']);
    // Back within 5 s of the death, and stays back.
    const back = calls.find((call) => call.sentAt > killed.killedAt && call.status === 200);
    expect(back).toBeDefined();
    console.info(
      `back ${back!.answeredAt - killed.killedAt} ms after the kill; ${refused.length} refused of ${calls.length}`,
    );
    expect(back!.answeredAt - killed.killedAt).toBeLessThan(backWithinMs);
    const afterBack = calls.filter((call) => call.sentAt > back!.answeredAt);
    expect(afterBack.length).toBeGreaterThan(10);
    expect(afterBack.filter((call) => call.status !== 200)).toEqual([]);
    // Every acknowledged engage is there, on the new primary.
    for (const call of calls.filter((each) => each.status === 200)) {
      expect((await server.status(call.id)).status, call.id).toBe(200);
    }
    // The shown invitation survived; the visitor's answer is recorded.
    expect((await server.status('kept')).body.state).toBe('delivered');
    expect((await page.answer('kept', 'accepted', 'chat')).ok).toBe(true);
    expect((await server.status('kept')).body.state).toBe('accepted');
    // The deadline that came due during the outage fired, once.
    await eventually(async () => expect((await server.status('due')).body.state).toBe('timed_out'));
    const events = await server.beckon.store.eventsAfter(0, { types: null, visitId: otherVisit }, 1000);
    expect(
      events.filter((event) => event.interactionId === 'due' && event.type === 'engagement.timed_out'),
    ).toHaveLength(1);
  }, 90_000);

  it('sends a page command from the node that engages to the node holding the page, on that node’s channel', async () => {
    const { server, another } = await start();
    const other = await another();
    const page = await openPage(server.url);
    // What the engaging node emits through the adapter (to every node): no page command.
    const adapter = other.beckon.io.of('/').adapter;
    const broadcast = adapter.broadcast.bind(adapter);
    const throughAdapter: unknown[] = [];
    adapter.broadcast = (packet, options) => {
      throughAdapter.push(packet.data);
      broadcast(packet, options);
    };
    expect((await other.engage({ interactionId: 'addressed', visitId: page.session.visitId })).status).toBe(200);
    await page.next('invitation:start', (offer) => offer.interactionId === 'addressed');
    expect((await other.noengage({ interactionId: 'addressed' })).status).toBe(200);
    expect(await page.next('invitation:withdraw', (w) => w.interactionId === 'addressed')).toMatchObject({
      state: 'cancelled',
    });
    expect(throughAdapter).toEqual([]);
  }, 90_000);

  it("lets nodes count each other and find each other's pages through the adapter", async () => {
    const { server, another } = await start();
    const other = await another();
    const page = await openPage(server.url);
    for (const node of [server, other]) {
      await eventually(async () => expect(await node.beckon.io.of('/').adapter.serverCount()).toBe(2));
      const sockets = await node.beckon.io.fetchSockets();
      expect(sockets.map((socket) => socket.id)).toEqual([page.socket.id]);
    }
  }, 90_000);
});

describe('the hash slot of a key', () => {
  it('is the one Redis Cluster computes (CLUSTER KEYSLOT), hash tags included', async () => {
    const cluster = await startRedisCluster();
    cleanup.push(() => cluster.dispose());
    for (const key of ['beckon:seq', '{beckon}:seq', '{beckon}:a:x', 'a{b}c', '{}x', 'x{}{y}', 'é{ü}', '123456789']) {
      expect(hashSlot(key), key).toBe(await cluster.slotOf(key));
    }
  }, 90_000);
});

describe('writes confirmed by a replica (BECKON_REDIS_MIN_REPLICAS=1)', () => {
  it('answers 200 once the replica has a write, and NOT_REPLICATED (kept, acted on) when it does not confirm in time', async () => {
    const { topology, server } = await topologyAndServer({ redisMinReplicas: 1, redisReplicaTimeoutMs: 200 });
    const page = await openPage(server.url);
    const { visitId } = page.session;

    expect((await server.engage({ interactionId: 'confirmed', visitId })).status).toBe(200);
    await page.next('invitation:start', (offer) => offer.interactionId === 'confirmed');
    expect((await server.noengage({ interactionId: 'confirmed', visitId })).status).toBe(200);

    // The replica stops answering (SIGSTOP): it can confirm nothing.
    const replica = topology.servers.find((node) => node.startedAs === 'replica')!;
    process.kill(replica.pid!, 'SIGSTOP');
    let frozen = true;
    cleanup.push(() => {
      if (frozen) process.kill(replica.pid!, 'SIGCONT');
    });
    const started = Date.now();
    const unconfirmed = await server.engage({ interactionId: 'unconfirmed', visitId });
    const took = Date.now() - started;
    expect([unconfirmed.status, unconfirmed.body.code]).toEqual([503, 'NOT_REPLICATED']);
    expect(took).toBeGreaterThanOrEqual(200);
    expect(took).toBeLessThan(2000);
    // Kept on the primary and acted on: the page is offered it.
    expect((await server.status('unconfirmed')).body.state).toBe('pending');
    await page.next('invitation:start', (offer) => offer.interactionId === 'unconfirmed');
    // A retry waits for the replica again.
    expect((await server.engage({ interactionId: 'unconfirmed', visitId })).body.code).toBe('NOT_REPLICATED');

    process.kill(replica.pid!, 'SIGCONT');
    frozen = false;
    await eventually(async () =>
      expect((await server.engage({ interactionId: 'unconfirmed', visitId })).status).toBe(200),
    );
  }, 60_000);
});

describe('credentials', () => {
  it('opens the store through password-protected sentinels, as an ACL user of the data nodes, from the environment', async () => {
    const topology = await startSentinelTopology({
      username: 'beckon',
      password: 'data-node-secret',
      sentinelPassword: 'sentinel-secret',
    });
    cleanup.push(() => topology.dispose());
    const config = loadConfig({ BECKON_DB: ':memory:', BECKON_REDIS_PREFIX: 'auth:', ...topology.env });
    const store = await openStore(config);
    cleanup.push(() => store.close());
    await store.startVisit({ visitId: 'visit-with-credentials', globalVisitId: 'browser' }, Date.now());
    expect(await store.getVisit('visit-with-credentials')).not.toBeNull();

    // The wrong data-node password: the sentinels answer, the primary refuses, and opening fails as unavailable.
    const wrong = loadConfig({ ...topology.env, BECKON_DB: ':memory:', REDIS_PASSWORD: 'not-the-secret' });
    await expect(openStore({ ...wrong, redisPrefix: 'auth:' })).rejects.toBeInstanceOf(StoreUnavailableError);
  }, 90_000);
});
