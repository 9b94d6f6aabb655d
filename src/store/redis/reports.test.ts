/**
 * What only the Redis store does for reports: each hour's counters expire on
 * their own at the hour's end + the retention (EXPIREAT), instead of being
 * pruned; an hour past its retention is simply not there.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ixnProfileSchema } from '../../protocol/index.js';
import { startRedisServer, type RedisServer } from '../../../test/redis-server.js';
import { HOUR_MS, hourOf } from '../../core/reports.js';
import { createFanoutClient } from './connection.js';
import { openRedisStore, type RedisStore } from './store.js';

let server: RedisServer;
const opened: RedisStore[] = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const store of opened) await store.close();
  await server?.dispose();
});

const DAY = 86_400_000;

it('sets each report hour to expire at its end plus the retention, and forgets hours already past it', async () => {
  const prefix = `t${randomBytes(6).toString('hex')}:`;
  const store = await openRedisStore({ url: server.url, prefix, reportRetentionMs: 30 * DAY });
  opened.push(store);
  const recent = hourOf(Date.now()) - 2 * HOUR_MS;
  const old = hourOf(Date.now()) - 31 * DAY; // ended more than 30 days ago
  await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, recent);
  for (const [id, at] of [
    ['recent', recent + 5],
    ['old', old + 5],
  ] as const) {
    await store.createAttempt(ixnProfileSchema.parse({ interactionId: id, visitId: 'v' }), {
      exclusive: false,
      now: at,
      place: false,
    });
  }
  const client = createFanoutClient(server.url);
  await client.connect();
  try {
    expect(await client.sendCommand(['PEXPIRETIME', `${prefix}rh:${recent}`])).toBe(recent + HOUR_MS + 30 * DAY);
    expect(await client.exists(`${prefix}rh:${old}`)).toBe(0);
  } finally {
    client.destroy();
  }
  expect((await store.reportHours(old, recent + HOUR_MS)).map((h) => h.hour)).toEqual([recent]);
  // The export still lists both: attempts are kept, only the counters expire.
  expect(
    (await store.engagementsCreated({ from: old, to: recent + HOUR_MS, after: null, limit: 10 })).map(
      (e) => e.interactionId,
    ),
  ).toEqual(['old', 'recent']);
});
