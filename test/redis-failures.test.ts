/**
 * Beckon on Redis when Redis fails (503 STORE_UNAVAILABLE,
 * docs/store-contract.md): each test runs its own redis-server (AOF on, fsync
 * before every reply) and takes it away for real: kill -9, a frozen process
 * (SIGSTOP), a restart. Acknowledged engages survive a crash of Redis; while
 * Redis is away every call answers a 503 FAULT within 2 s (never a 200 for
 * something not stored, never a 500, never a hang); when it is back,
 * everything resumes by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../src/protocol/index.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { eventually, startServer, TestPage, type Reply, type TestServer } from './support.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function beckonOnOwnRedis(
  overrides: Parameters<typeof startServer>[0] = {},
): Promise<{ redis: RedisServer; server: TestServer }> {
  const redis = await startRedisServer({ appendfsync: 'always' });
  cleanup.push(() => redis.dispose());
  const server = await startServer({ redisUrl: redis.url, redisPrefix: 'fail:', ...overrides });
  cleanup.push(() => server.close());
  return { redis, server };
}

async function openPage(url: string): Promise<TestPage> {
  const page = await TestPage.open(url);
  cleanup.push(() => page.close());
  return page;
}

/** A call with how long it took. */
async function timed(call: () => Promise<Reply>): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const reply = await call();
  return { ...reply, ms: performance.now() - started };
}

describe('Redis crashes (kill -9, AOF with fsync always)', () => {
  it('keeps every acknowledged engage, in its state, after Redis restarts', async () => {
    const { redis, server } = await beckonOnOwnRedis();
    const pages = await Promise.all(Array.from({ length: 12 }, () => openPage(server.url)));
    const states = new Map<string, string>();
    for (const [i, page] of pages.entries()) {
      const id = `crash-${i}`;
      const reply = await server.engage({ interactionId: id, visitId: page.session.visitId, timeoutSeconds: 120 });
      expect(reply.status).toBe(200);
      states.set(id, 'pending');
      await page.next('invitation:start', (offer) => offer.interactionId === id);
      if (i % 3 !== 0) {
        expect((await page.shown(id)).ok).toBe(true);
        states.set(id, 'delivered');
      }
      if (i % 3 === 2) {
        expect((await page.answer(id, 'accepted', 'chat')).ok).toBe(true);
        states.set(id, 'accepted');
      }
    }

    await redis.stop('SIGKILL');
    await redis.restart();

    await eventually(async () => expect((await server.get('/readyz')).status).toBe(200), 10_000);
    for (const [id, state] of states) {
      const status = await server.status(id);
      expect(status.status, id).toBe(200);
      expect(status.body.state, id).toBe(state);
    }
  });
});

describe('Redis away under load', () => {
  it('answers only 503 STORE_UNAVAILABLE within 2 s while Redis is down, and resumes without a restart', async () => {
    const { redis, server } = await beckonOnOwnRedis({ strict: false });
    const page = await openPage(server.url);
    await server.engage({ interactionId: 'before', visitId: page.session.visitId, timeoutSeconds: 5 });
    await page.next('invitation:start', (offer) => offer.interactionId === 'before');
    expect((await page.shown('before')).ok).toBe(true);

    await redis.stop('SIGKILL');
    // Calls made while Redis is away, some in parallel.
    const during: (Reply & { ms: number; what: string })[] = [];
    for (let round = 0; round < 4; round++) {
      const calls = [
        ...Array.from({ length: 5 }, (_, i) =>
          timed(() => server.engage({ interactionId: `down-${round}-${i}`, visitId: page.session.visitId })).then(
            (r) => ({ ...r, what: 'engage' }),
          ),
        ),
        timed(() => server.noengage({ interactionId: `cancel-${round}` })).then((r) => ({ ...r, what: 'noengage' })),
        timed(() => server.status('before')).then((r) => ({ ...r, what: 'status' })),
        timed(() => server.get('/readyz')).then((r) => ({ ...r, what: 'readyz' })),
      ];
      during.push(...(await Promise.all(calls)));
    }
    for (const reply of during) {
      expect(reply.status, `${reply.what}: ${JSON.stringify(reply.body)}`).toBe(503);
      expect(reply.body).toMatchObject({ status: 'FAULT', code: 'STORE_UNAVAILABLE' });
      expect(reply.ms, reply.what).toBeLessThan(2000);
    }
    // A page's answer during the outage gets a FAULT ack (the widget retries it), not silence.
    const ack = await page.answer('before', 'declined');
    expect(ack).toMatchObject({ ok: false, code: 'STORE_UNAVAILABLE' });
    // The shown invitation's deadline passes while Redis is away.
    await new Promise((resolve) => setTimeout(resolve, 5200));

    await redis.restart();
    await eventually(async () => expect((await server.get('/readyz')).status).toBe(200), 10_000);
    // The deadline that came due meanwhile fires, once.
    await eventually(async () => expect((await server.status('before')).body.state).toBe('timed_out'), 10_000);
    const after = await server.engage({ interactionId: 'after', visitId: page.session.visitId });
    expect(after).toMatchObject({ status: 200, body: { state: 'pending' } });
    // Nothing refused during the outage was stored.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) expect((await server.status(`down-${round}-${i}`)).status).toBe(404);
      expect((await server.status(`cancel-${round}`)).status).toBe(404);
    }
    const timedOut = (
      await server.beckon.store.eventsAfter(0, { types: ['engagement.timed_out'], visitId: null }, 10)
    ).filter((event) => event.interactionId === 'before');
    expect(timedOut).toHaveLength(1);
  });

  it('answers within 2 s when Redis is frozen (SIGSTOP), and serves again when it thaws', async () => {
    const { redis, server } = await beckonOnOwnRedis();
    const page = await openPage(server.url);
    const pid = redis.pid()!;
    process.kill(pid, 'SIGSTOP');
    cleanup.push(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    });
    const frozen = await Promise.all([
      timed(() => server.engage({ interactionId: 'frozen', visitId: page.session.visitId })),
      timed(() => server.get('/readyz')),
    ]);
    for (const reply of frozen) {
      expect(reply.status).toBe(503);
      expect(reply.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(reply.ms).toBeLessThan(2000);
    }
    process.kill(pid, 'SIGCONT');
    await eventually(async () => expect((await server.get('/readyz')).status).toBe(200), 10_000);
    // The refused engage may or may not have reached Redis before it froze: a retry with the same id settles it.
    const retried = await server.engage({ interactionId: 'frozen', visitId: page.session.visitId });
    expect(retried.status).toBe(200);
    expect(retried.body.state).toBe('pending');
  });
});

describe('pages resynchronised when Redis comes back (several nodes)', () => {
  it('a page whose socket stayed open gets the offer or the withdraw lost with Redis, and the offer it shows again', async () => {
    const redis = await startRedisServer({ appendfsync: 'always' });
    cleanup.push(() => redis.dispose());
    const shared = { redisUrl: redis.url, redisPrefix: 'resync:' };
    const backend = await startServer({ ...shared, role: 'backend', nodeId: 'resync-back' });
    cleanup.push(() => backend.close());
    const front = await startServer({ ...shared, role: 'frontend', nodeId: 'resync-front' });
    cleanup.push(() => front.close());
    // Three visits, one page each, on the frontend; the backend changes attempts.
    const [lost, ended, showing] = [await openPage(front.url), await openPage(front.url), await openPage(front.url)];

    await backend.engage({ interactionId: 'kept', visitId: showing.session.visitId, timeoutSeconds: 120 });
    await showing.next('invitation:start', (offer) => offer.interactionId === 'kept');
    expect((await showing.shown('kept')).ok).toBe(true);
    await backend.engage({ interactionId: 'ended', visitId: ended.session.visitId, timeoutSeconds: 120 });
    await ended.next('invitation:start', (offer) => offer.interactionId === 'ended');

    // What a page command lost with Redis leaves behind: the change is stored, the page never hears
    // of it. Written to the store directly, without the command: the real loss (a command written to
    // Redis as it dies) cannot be timed in a test; e2e/cluster.spec.ts restarts Redis around engages.
    const store = backend.beckon.store;
    const profile = ixnProfileSchema.parse({
      interactionId: 'lost',
      visitId: lost.session.visitId,
      timeoutSeconds: 120,
    });
    expect((await store.createAttempt(profile, { exclusive: true, now: Date.now(), place: true })).kind).toBe(
      'created',
    );
    expect(
      await store.transition({
        interactionId: 'ended',
        from: ['pending', 'delivered'],
        to: 'cancelled',
        at: Date.now(),
      }),
    ).not.toBeNull();

    await redis.stop('SIGKILL');
    await redis.restart();

    // Without a reload or a reconnect: each page still has the one session it started with.
    const offer = await lost.next('invitation:start', (o) => o.interactionId === 'lost', 20_000);
    expect(offer.remainingMs).toBeGreaterThan(100_000);
    expect(offer.remainingMs).toBeLessThanOrEqual(120_000);
    expect(await ended.next('invitation:withdraw', (w) => w.interactionId === 'ended', 20_000)).toEqual({
      interactionId: 'ended',
      state: 'cancelled',
    });
    // The invitation on screen is offered again (the widget ignores a start for the one it shows).
    await eventually(
      async () =>
        expect(showing.count('invitation:start', (o) => o.interactionId === 'kept')).toBeGreaterThanOrEqual(2),
      20_000,
    );
    for (const page of [lost, ended, showing]) {
      expect(page.count('session')).toBe(1);
      expect(page.socket.connected).toBe(true);
    }
    // Nothing the page never had is withdrawn, and nothing ended is offered.
    expect(lost.count('invitation:withdraw')).toBe(0);
    expect(ended.count('invitation:start', (o) => o.interactionId === 'ended')).toBe(1);
    expect(showing.count('invitation:withdraw')).toBe(0);
    // The offer that was lost is an offer like any other: shown, answered, and the backend sees it.
    expect((await lost.shown('lost')).ok).toBe(true);
    expect((await lost.answer('lost', 'accepted', 'chat')).ok).toBe(true);
    expect((await backend.status('lost')).body.state).toBe('accepted');
  });
});
