/**
 * What only the Redis store has (the store contract, which both stores pass,
 * is in test/store-contract/): one real redis-server for the file, a fresh
 * random key prefix per store; scripts that
 * survive a SCRIPT FLUSH and a restart, prefixes that do not see each other,
 * failing fast (StoreUnavailableError, ping false) while Redis is frozen or
 * dead and working again when it is back, and the durability warnings.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ixnProfileSchema } from '../../protocol/index.js';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { openStore } from '../open.js';
import { StoreUnavailableError, type BeckonStore } from '../../core/store.js';
import { createFanoutClient, durabilityWarnings } from './connection.js';
import { openRedisStore, type RedisStore } from './store.js';
import { scriptSource } from './scripts.js';
import { backfillRetentionIndexes } from './retention-backfill.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

const randomPrefix = () => `t${randomBytes(6).toString('hex')}:`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const pageInfo = { url: 'https://shop.test/', title: 'Shop', visible: true, focused: true, locale: 'en' };

/** Deletes every key under `prefix` (what a store made). */
async function dropKeys(url: string, prefix: string): Promise<void> {
  const client = createFanoutClient(url);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

/** Resolves with how long `fn` took to settle, and how. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await fn();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

/** Waits until the store answers again (the client reconnects on its own). */
async function untilBack(store: BeckonStore, withinMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  while (!(await store.ping())) {
    if (Date.now() > giveUpAt) throw new Error('the store did not come back');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('redis store: what only Redis has', () => {
  const opened: BeckonStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });
  const open = async (url = server.url, prefix = randomPrefix()) => {
    const store = await openRedisStore({ url, prefix });
    opened.push(store);
    return store;
  };
  /** Runs `check` on a store under a fresh prefix, with a plain client beside it to read and plant keys. */
  const withFreshPrefix = async (
    check: (fresh: {
      prefix: string;
      store: BeckonStore;
      admin: ReturnType<typeof createFanoutClient>;
    }) => Promise<void>,
  ) => {
    const prefix = randomPrefix();
    const store = await open(server.url, prefix);
    const admin = createFanoutClient(server.url);
    await admin.connect();
    try {
      await check({ prefix, store, admin });
    } finally {
      admin.destroy();
    }
  };

  it('is what openStore opens when REDIS_URL is set, without touching any SQLite file', async () => {
    const store = await openStore({ db: '/nonexistent/beckon.db', redisUrl: server.url, redisPrefix: randomPrefix() });
    opened.push(store);
    expect(store.kind).toBe('redis');
    expect(await store.ping()).toBe(true);
  });

  it('keeps two prefixes on one Redis apart', async () => {
    const a = await open();
    const b = await open();
    await a.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    await a.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0);
    expect(await b.getVisit('v')).toBeNull();
    expect(await b.counts()).toEqual({ liveVisits: 0, openPages: 0 });
    expect(await b.lastEventSeq()).toBe(0);
    await b.startVisit({ visitId: 'v', globalVisitId: 'other' }, T0 + 1);
    expect((await a.getVisit('v'))?.globalVisitId).toBe('g');
    expect((await b.getVisit('v'))?.globalVisitId).toBe('other');
    expect(await a.counts()).toEqual({ liveVisits: 1, openPages: 1 });
    expect((await b.eventsAfter(0, { types: null, visitId: null }, 10)).map((e) => e.type)).toEqual(['visit.started']);
  });

  it('starts a new epoch of event positions when Redis lost its data, so that none repeats', async () => {
    const prefix = randomPrefix();
    const store = await open(server.url, prefix);
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
    const before = await store.lastEventSeq();
    // A Last-Event-ID is at most 15 digits (routes/events.ts).
    expect(String(before)).toMatch(/^\d{1,15}$/);
    await dropKeys(server.url, prefix);
    expect(await store.lastEventSeq()).toBe(0);
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    const after = await store.lastEventSeq();
    expect(after).toBeGreaterThan(before);
    expect(String(after)).toMatch(/^\d{1,15}$/);
  });

  it('leaves no key and no index entry of a pruned visit and its pages, only its attempt, events and counters; then of its pruned attempt, none', async () => {
    await withFreshPrefix(async ({ prefix, store, admin }) => {
      /** Every key under the prefix with every member or field of it (stream entries as their fields). */
      const contents = async () => {
        const out = new Map<string, string>();
        for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
          for (const key of keys) {
            const type = await admin.type(key);
            const body =
              type === 'zset'
                ? await admin.zRange(key, 0, -1)
                : type === 'set'
                  ? await admin.sMembers(key)
                  : type === 'hash'
                    ? Object.entries(await admin.hGetAll(key)).flat()
                    : type === 'stream'
                      ? ((await admin.xRange(key, '-', '+')) ?? []).map((e) => JSON.stringify(e.message))
                      : [String(await admin.get(key))];
            out.set(key.slice(prefix.length), JSON.stringify(body));
          }
        }
        return out;
      };
      const now = Date.now();
      const node = { nodeId: 'node-a', bootId: 'boot-1' };
      await store.heartbeat(node, now + 60_000, now);
      await store.queueWebhookEvents({ types: null, now, maxAgeMs: 86_400_000, limit: 100 }); // webhooks on
      const baseline = await contents();

      await store.startVisit({ visitId: 'visit-x', globalVisitId: 'browser-x' }, now);
      await store.openPage({ pageId: 'page-x1', visitId: 'visit-x', info: pageInfo, node }, now);
      await store.openPage({ pageId: 'page-x2', visitId: 'visit-x', info: pageInfo, node }, now);
      const caps = { perDay: 5, afterDeclineMs: 60_000 };
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'ix-1', visitId: 'visit-x' }), {
        exclusive: true,
        now,
        place: true,
        caps,
      });
      await store.transition({
        interactionId: 'ix-1',
        from: ['pending'],
        to: 'delivered',
        at: now + 1,
        pageId: 'page-x1',
        timeoutAt: now + 60_000,
      });
      await store.transition({ interactionId: 'ix-1', from: ['delivered'], to: 'declined', at: now + 2 });
      await store.updatePage('page-x2', { visible: false }, now + 3);
      await store.closePage('page-x1', now + 4, node);
      await store.closePage('page-x2', now + 5);
      await store.endVisit('visit-x', now + 6);
      await store.queueWebhookEvents({ types: null, now: now + 7, maxAgeMs: 86_400_000, limit: 100 });
      for (let round = 0; round < 20; round++) {
        const claimed = await store.claimWebhookDeliveries(now + 7, now + 8, 100);
        if (claimed.length === 0) break;
        for (const delivery of claimed) await store.webhookDelivered(delivery.event.seq);
      }
      expect(await store.webhookBacklog()).toEqual({ waiting: 0, failed: 0 });
      const during = await contents();
      expect([...during.keys()].filter((key) => key.includes('visit-x') || key.includes('page-x'))).toEqual(
        expect.arrayContaining(['v:visit-x', 'pg:page-x1', 'pg:page-x2']),
      );

      expect(await store.pruneVisits(now + 7, 1000)).toBe(3);
      const after = await contents();
      // What may stay: the attempt (with the created, settled and by-visit indexes, the browser's caps and the
      // report hour), the events (until their own retention), the event counter and the webhook cursor.
      const mayStay = (key: string) =>
        key === 'a:ix-1' ||
        key === 'attempts:ix' ||
        key === 'settled' ||
        key === 'log' ||
        key === 'seq' ||
        key === 'wh:cursor' ||
        key.startsWith('caps:') ||
        key.startsWith('rh:');
      const added = [...after.keys()].filter((key) => !baseline.has(key)).sort();
      expect(added.filter((key) => !mayStay(key))).toEqual([]);
      // Every other key is as it was before the visit (the node registry, the indexes: emptied, so gone).
      for (const [key, body] of baseline) if (!mayStay(key)) expect([key, after.get(key)]).toEqual([key, body]);
      // No index names the visit or its pages any more.
      for (const [key, body] of after) {
        if (mayStay(key)) continue;
        expect([key, body.includes('visit-x') || body.includes('page-x')]).toEqual([key, false]);
      }
      expect(await store.getEngagement('ix-1')).toMatchObject({
        visitId: 'visit-x',
        shownPageId: 'page-x1',
        state: 'declined',
      });

      // Once the events are past their own retention too, nothing but the attempt names the visit.
      while ((await store.pruneEvents(now + 1000, 1000)) > 0);
      const last = await contents();
      for (const [key, body] of last) {
        if (
          key === 'a:ix-1' ||
          key === 'attempts:ix' ||
          key === 'settled' ||
          key.startsWith('caps:') ||
          key.startsWith('rh:')
        )
          continue;
        expect([key, body.includes('visit-x') || body.includes('page-x')]).toEqual([key, false]);
      }

      // Then the attempt's own retention: no key and no entry names it (its hash, the created and
      // settled indexes, its caps budget entry); the browser's last decline and the counters stay.
      expect(await last.get('caps:budget')).toContain('ix-1');
      expect(await store.pruneAttempts(now + 2, 1000)).toBe(0); // settled at +2: not before +2
      expect(await store.pruneAttempts(now + 3, 1000)).toBe(1);
      const gone = await contents();
      for (const [key, body] of gone) {
        expect([key, `${key} ${body}`.includes('ix-1') || body.includes('visit-x') || body.includes('page-x')]).toEqual(
          [key, false],
        );
      }
      for (const key of ['a:ix-1', 'attempts:ix', 'settled', 'caps:budget', 'caps:budget:t'])
        expect(gone.has(key)).toBe(false);
      expect(gone.get('caps:declined')).toContain('browser-x');
      expect([...gone.keys()].some((key) => key.startsWith('rh:'))).toBe(true);
      expect(await store.getEngagement('ix-1')).toBeNull();
    });
  });

  it('keeps what came back between the read and the delete of a prune (the script checks each id again)', async () => {
    await withFreshPrefix(async ({ prefix, store, admin }) => {
      // What pruneVisits read a moment ago: a closed page and an ended visit with no page open.
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0);
      await store.closePage('p', T0 + 1);
      await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
      await store.endVisit('w', T0 + 2);
      // Then, before its script ran: the page reconnected, and the ended visit got a page.
      await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0 + 3);
      await store.openPage({ pageId: 'q', visitId: 'w', info: pageInfo }, T0 + 3);
      // The script, with the stale ids as the store would pass them.
      const keys = [
        'closed',
        'ended',
        'attempts:ix',
        'live',
        'idle',
        'open',
        'openlive',
        'pages:v',
        'visits:g',
        'pg:p',
        'v:w',
        'vp:w',
        'vi:w',
        've:w',
      ].map((k) => prefix + k);
      const reply = await admin.eval(scriptSource('pruneVisits'), {
        keys,
        arguments: ['0', String(T0 + 50), '10', '1', '1', 'p', 'w'],
      });
      expect(reply).toEqual(['ok', 0, 1]);
      expect(await store.getPage('p')).toMatchObject({ closedAt: null });
      expect(await store.getVisit('w')).toMatchObject({ endedAt: T0 + 2 });
      // Its page closes (past the cut): the visit waits for it, then both go.
      await store.closePage('q', T0 + 4);
      expect(await admin.zScore(`${prefix}ended`, 'w')).toBe(T0 + 4);
      expect(await store.pruneVisits(T0 + 50, 10)).toBe(2);
      expect(await store.getVisit('w')).toBeNull();
      expect(await store.getPage('p')).toMatchObject({ closedAt: null });
    });
  });

  it('indexes closed pages and ended visits written before the retention existed (retention-backfill.ts), once', async () => {
    const prefix = randomPrefix();
    const store = await open(server.url, prefix);
    await store.startVisit({ visitId: 'ended', globalVisitId: 'g' }, T0);
    await store.openPage({ pageId: 'closed', visitId: 'ended', info: pageInfo }, T0);
    await store.closePage('closed', T0 + 1);
    await store.endVisit('ended', T0 + 2);
    await store.startVisit({ visitId: 'live', globalVisitId: 'g' }, T0);
    await store.openPage({ pageId: 'open', visitId: 'live', info: pageInfo }, T0);
    // As a store written before this version left them: in neither index.
    await dropKeys(server.url, `${prefix}closed`);
    await dropKeys(server.url, `${prefix}ended`);
    expect(await store.pruneVisits(T0 + 50, 100)).toBe(0);
    expect(await store.getVisit('ended')).not.toBeNull();

    expect((await backfillRetentionIndexes(server.url, prefix)).added).toBe(2);
    expect((await backfillRetentionIndexes(server.url, prefix)).added).toBe(0);
    expect(await store.pruneVisits(T0 + 50, 100)).toBe(2);
    expect(await store.getVisit('ended')).toBeNull();
    expect(await store.getPage('closed')).toBeNull();
    expect(await store.getPage('open')).toMatchObject({ closedAt: null });
    expect(await store.getVisit('live')).toMatchObject({ endedAt: null });
  });

  it('indexes settled attempts written before their retention existed (retention-backfill.ts) at their settle time, once', async () => {
    await withFreshPrefix(async ({ prefix, store, admin }) => {
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      const create = (interactionId: string, now: number) =>
        store.createAttempt(ixnProfileSchema.parse({ interactionId, visitId: 'v' }), {
          exclusive: false,
          now,
          place: false,
        });
      await create('accepted', T0);
      await store.transition({
        interactionId: 'accepted',
        from: ['pending'],
        to: 'delivered',
        at: T0 + 1,
        pageId: 'p',
        timeoutAt: T0 + 60_000,
      });
      await store.transition({ interactionId: 'accepted', from: ['delivered'], to: 'accepted', at: T0 + 7 });
      await create('expired', T0);
      await store.transition({ interactionId: 'expired', from: ['pending'], to: 'expired', at: T0 + 60 });
      await store.createTombstone({ interactionId: 'tombstone', visitId: null, reason: null }, T0 + 3);
      await create('pending', T0);
      // As a store written before this version left them: in no settled index.
      await admin.del(`${prefix}settled`);
      expect(await store.pruneAttempts(T0 + 50, 100)).toBe(0);

      expect((await backfillRetentionIndexes(server.url, prefix)).added).toBe(3);
      expect(await admin.zRangeWithScores(`${prefix}settled`, 0, -1)).toEqual([
        { value: 'tombstone', score: T0 + 3 },
        { value: 'accepted', score: T0 + 7 },
        { value: 'expired', score: T0 + 60 },
      ]);
      expect((await backfillRetentionIndexes(server.url, prefix)).added).toBe(0);
      expect(await store.pruneAttempts(T0 + 50, 100)).toBe(2);
      expect(await store.getEngagement('accepted')).toBeNull();
      expect(await store.getEngagement('tombstone')).toBeNull();
      expect(await store.getEngagement('expired')).toMatchObject({ state: 'expired' });
      expect(await store.getEngagement('pending')).toMatchObject({ state: 'pending' });
    });
  });

  it('drops a settled index entry whose attempt is gone or in progress, without counting it (the script checks each id again)', async () => {
    await withFreshPrefix(async ({ prefix, store, admin }) => {
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'busy', visitId: 'v' }), {
        exclusive: false,
        now: T0,
        place: false,
      });
      await store.createTombstone({ interactionId: 'done', visitId: null, reason: null }, T0 + 5);
      // Stray entries, older than the real one: an attempt that is gone, one in progress.
      await admin.zAdd(`${prefix}settled`, [
        { score: T0, value: 'gone' },
        { score: T0 + 1, value: 'busy' },
      ]);
      expect(await store.pruneAttempts(T0 + 50, 1)).toBe(1); // read past the stray ones in a further round
      expect(await store.getEngagement('done')).toBeNull();
      expect(await store.getEngagement('busy')).toMatchObject({ state: 'pending' });
      expect(await admin.exists(`${prefix}settled`)).toBe(0);
    });
  });

  it('runs its scripts again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const store = await open();
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    const admin = createFanoutClient(server.url);
    await admin.connect();
    await admin.scriptFlush();
    admin.destroy();
    await store.startVisit({ visitId: 'w', globalVisitId: 'g' }, T0);
    const created = await store.createAttempt(ixnProfileSchema.parse({ interactionId: 'x', visitId: 'w' }), {
      exclusive: true,
      now: T0,
      place: true,
    });
    expect(created.kind).toBe('created');
  });

  it('reports a script bug as itself, not as an unreachable store', async () => {
    const store = await open();
    // A key of the wrong type makes the script fail inside Redis: a bug, not an outage.
    const admin = createFanoutClient(server.url);
    await admin.connect();
    const prefix = randomPrefix();
    await admin.set(`${prefix}log`, 'not a stream');
    admin.destroy();
    const broken = await open(server.url, prefix);
    const outcome = await timed(() => broken.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0));
    expect(outcome.error).toBeInstanceOf(Error);
    expect(outcome.error).not.toBeInstanceOf(StoreUnavailableError);
    expect(await store.ping()).toBe(true);
  });

  it('lets calls in flight, and the calls they lead to, finish when it closes', async () => {
    const store = await open();
    await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
    await store.openPage({ pageId: 'p', visitId: 'v', info: pageInfo }, T0);
    // As a page that leaves during shutdown: its close, then the look for where its invitation goes.
    const leaving = store.closePage('p', T0 + 1).then(async (closed) => [closed, await store.openPages('v')] as const);
    await store.close();
    expect(await leaving).toEqual([true, []]);
    await expect(store.getVisit('v')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  describe('when Redis goes away', () => {
    let own: RedisServer;
    beforeAll(async () => {
      own = await startRedisServer();
    });
    afterAll(async () => {
      const pid = own?.pid();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      await own?.dispose();
    });

    it('fails fast while Redis is frozen (SIGSTOP), then works again without reopening', async () => {
      const store = (await open(own.url)) as RedisStore;
      await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, T0);
      process.kill(own.pid()!, 'SIGSTOP');
      try {
        const write = await timed(() => store.startVisit({ visitId: 'frozen', globalVisitId: 'g' }, T0));
        expect(write.error).toBeInstanceOf(StoreUnavailableError);
        expect(write.ms).toBeLessThan(2000);
        const read = await timed(() => store.getVisit('v'));
        expect(read.error).toBeInstanceOf(StoreUnavailableError);
        expect(read.ms).toBeLessThan(2000);
        const ping = await timed(() => store.ping());
        expect(ping.value).toBe(false);
        expect(ping.ms).toBeLessThan(2000);
        // Still frozen after the watchdog gave up on the connection: still fast, nothing queued.
        await new Promise((resolve) => setTimeout(resolve, 4500));
        expect(store.health().replaced).toBeGreaterThan(0);
        const later = await timed(() => store.getVisit('v'));
        expect(later.error).toBeInstanceOf(StoreUnavailableError);
        expect(later.ms).toBeLessThan(2000);
      } finally {
        process.kill(own.pid()!, 'SIGCONT');
      }
      await untilBack(store);
      expect((await store.getVisit('v'))?.globalVisitId).toBe('g');
      // The write that timed out while Redis was frozen ran late, and so was refused: nothing changed.
      expect(await store.getVisit('frozen')).toBeNull();
      await store.startVisit({ visitId: 'after', globalVisitId: 'g' }, T0);
      expect(await store.getVisit('after')).not.toBeNull();
    }, 30_000);

    it('fails fast while Redis is dead (SIGKILL), then works again after it restarts', async () => {
      const store = await open(own.url);
      await store.startVisit({ visitId: 'kept', globalVisitId: 'g' }, T0);
      await own.stop('SIGKILL');
      for (const call of [
        () => store.startVisit({ visitId: 'dead', globalVisitId: 'g' }, T0) as Promise<unknown>,
        () => store.getVisit('kept'),
        () => store.transition({ interactionId: 'x', from: ['pending'], to: 'cancelled', at: T0 }),
      ]) {
        const outcome = await timed(call);
        expect(outcome.error).toBeInstanceOf(StoreUnavailableError);
        expect(outcome.ms).toBeLessThan(2000);
      }
      const ping = await timed(() => store.ping());
      expect(ping.value).toBe(false);
      expect(ping.ms).toBeLessThan(2000);
      // Reconnecting with back-off leaves the event loop alone (no tight retry loop).
      let worstLag = 0;
      let last = Date.now();
      const lag = setInterval(() => {
        worstLag = Math.max(worstLag, Date.now() - last - 20);
        last = Date.now();
      }, 20);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      clearInterval(lag);
      expect(worstLag).toBeLessThan(200);

      // Back (AOF with fsync always: what was acknowledged is there), with an empty script cache.
      await own.restart();
      await untilBack(store);
      expect((await store.getVisit('kept'))?.globalVisitId).toBe('g');
      expect(await store.getVisit('dead')).toBeNull();
      await store.startVisit({ visitId: 'again', globalVisitId: 'g' }, T0);
      expect(await store.getVisit('again')).not.toBeNull();
    }, 30_000);

    it('closes without hanging while Redis is down', async () => {
      const store = await open(own.url);
      await own.stop('SIGKILL');
      const closing = await timed(() => store.close());
      expect(closing.error).toBeUndefined();
      expect(closing.ms).toBeLessThan(2000);
      await own.restart();
    }, 30_000);

    it('refuses to open while Redis is unreachable, within the time given', async () => {
      await own.stop('SIGKILL');
      const opening = await timed(() => openRedisStore({ url: own.url, prefix: randomPrefix(), openTimeoutMs: 1000 }));
      expect(opening.error).toBeInstanceOf(StoreUnavailableError);
      expect(opening.ms).toBeLessThan(2000);
      await own.restart();
    }, 30_000);
  });

  describe('durability warnings', () => {
    it('has nothing to say about AOF with appendfsync always and noeviction', async () => {
      const store = (await open()) as RedisStore;
      expect(await store.durabilityWarnings()).toEqual([]);
    });

    it('warns when Redis persists nothing, or fsyncs only every second, or may evict', async () => {
      const bare = await startRedisServer({ persistence: false });
      const everysec = await startRedisServer({ appendfsync: 'everysec' });
      try {
        const client = createFanoutClient(bare.url);
        await client.connect();
        const none = await durabilityWarnings(client);
        expect(none).toHaveLength(1);
        expect(none[0]).toMatch(/neither an AOF .* nor RDB snapshots/);
        await client.configSet('maxmemory-policy', 'allkeys-lru');
        const evicting = await durabilityWarnings(client);
        expect(evicting).toHaveLength(2);
        expect(evicting[1]).toMatch(/maxmemory-policy allkeys-lru/);
        client.destroy();

        const store = (await open(everysec.url)) as RedisStore;
        const warnings = await store.durabilityWarnings();
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/appendfsync everysec/);
      } finally {
        await bare.dispose();
        await everysec.dispose();
      }
    });

    it('falls back to INFO when CONFIG is refused', async () => {
      const refusing = {
        configGet: async () => {
          throw new Error("ERR unknown command 'CONFIG'");
        },
        info: async (section?: string) =>
          section === 'persistence'
            ? '# Persistence\r\naof_enabled:0\r\n'
            : '# Memory\r\nmaxmemory_policy:volatile-lru\r\n',
      };
      const warnings = await durabilityWarnings(refusing);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/no AOF/);
      expect(warnings[1]).toMatch(/volatile-lru/);
    });
  });
});
