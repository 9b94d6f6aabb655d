/**
 * Pacing across a cluster (docs/pacing.md): two backends taking engages at
 * the same time for one paced channel never let more invitations be in
 * progress than its allowance, because the decision and the create are one
 * Redis script. Real servers on port 0 (two backends, one frontend holding
 * the page), a real redis-server, real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { startServer, TestPage, type TestServer } from './support.js';

let redis: RedisServer;
let backends: TestServer[];
let frontend: TestServer;
let page: TestPage;

beforeAll(async () => {
  redis = await startRedisServer();
  const shared = { redisUrl: redis.url, redisPrefix: 'paced:', strict: false };
  backends = [
    await startServer({ ...shared, role: 'backend', nodeId: 'back-1' }),
    await startServer({ ...shared, role: 'backend', nodeId: 'back-2' }),
  ];
  frontend = await startServer({ ...shared, role: 'frontend', nodeId: 'front-1' });
  page = await TestPage.open(frontend.url);
});
afterAll(async () => {
  page?.close();
  for (const node of [frontend, ...(backends ?? [])]) await node?.close();
  await redis?.dispose();
});

/** Sends `count` engages for the page's visit, alternating between the backends, all at once. */
async function engageAtOnce(prefix: string, count: number, channels: string[]) {
  const visitId = page.session.visitId as string;
  const replies = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      backends[i % 2]!.engage({ interactionId: `${prefix}-${i}`, visitId, channels }),
    ),
  );
  return {
    created: replies.filter((r) => r.status === 200).map((r) => r.body.interactionId as string),
    refused: replies.filter((r) => r.status === 400 && r.body.code === 'NO_CAPACITY'),
    other: replies.filter((r) => r.status !== 200 && !(r.status === 400 && r.body.code === 'NO_CAPACITY')),
  };
}

describe('pacing across backends', () => {
  it('fixed: two backends racing never put more than maxOnScreen in progress', async () => {
    const [one, two] = backends as [TestServer, TestServer];
    expect((await one.put('/backend/data/channels/video', { pacing: { mode: 'fixed', maxOnScreen: 7 } })).status).toBe(
      201,
    );
    const { created, refused, other } = await engageAtOnce('fixed', 40, ['video']);
    expect(other).toEqual([]);
    expect(created).toHaveLength(7);
    expect(refused).toHaveLength(33);
    // Both backends see the same counts: the store is the one truth.
    for (const backend of [one, two]) {
      const pacing = await backend.get('/backend/data/pacing');
      expect(pacing.body.channels.find((c: { channel: string }) => c.channel === 'video')).toMatchObject({
        open: false,
        reason: 'pacing',
        inProgress: 7,
        allowance: 7,
      });
    }
  });

  it('progressive: the allowance from a capacity report holds across backends', async () => {
    const [one, two] = backends as [TestServer, TestServer];
    await one.put('/backend/data/channels/chat', { pacing: { mode: 'progressive' } });
    // Reported to the other backend: 2 free slots at the initial rate 0.2 allow 10 in progress.
    expect((await two.put('/backend/data/channels/chat/capacity', { freeSlots: 2 })).status).toBe(200);
    const { created, refused, other } = await engageAtOnce('progressive', 40, ['chat']);
    expect(other).toEqual([]);
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(30);
    expect(refused[0]!.body.details).toEqual([expect.objectContaining({ channel: 'chat', reason: 'pacing' })]);
    const report = await one.get('/backend/data/reports/engagements');
    expect(report.body.totals.refused.NO_CAPACITY).toBe(33 + 30);
  });
});
