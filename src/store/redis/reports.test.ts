/**
 * What only the Redis store does for reports: each hour's counters expire on
 * their own at the hour's end + the retention (EXPIREAT), instead of being
 * pruned; an hour past its retention is simply not there. Three counters are
 * folded into the names counted with them and a decline after a show into its
 * bucket (includes/reports.lua): an hour reads the same whichever count
 * created it, and whether it was written before the fold or after.
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

it('sets the expiry of an hour that a show, an accept or a decline after a show creates', async () => {
  const prefix = `t${randomBytes(6).toString('hex')}:`;
  const store = await openRedisStore({ url: server.url, prefix, reportRetentionMs: 30 * DAY });
  opened.push(store);
  const h0 = hourOf(Date.now()) - 10 * HOUR_MS;
  await store.startVisit({ visitId: 'v', globalVisitId: 'g' }, h0);
  await store.openPage(
    { pageId: 'p', visitId: 'v', info: { url: 'https://shop.test/cart', title: 'Shop', visible: true, focused: true } },
    h0,
  );
  for (const id of ['declined', 'accepted']) {
    await store.createAttempt(ixnProfileSchema.parse({ interactionId: id, visitId: 'v', channels: ['chat'] }), {
      exclusive: false,
      now: h0 + 1,
      place: true,
    });
  }
  // Each change in an hour of its own, where nothing else was counted.
  const show = (id: string, hour: number) =>
    store.transition({
      interactionId: id,
      from: ['pending'],
      to: 'delivered',
      at: hour,
      pageId: 'p',
      timeoutAt: hour + DAY,
    });
  await show('declined', h0 + HOUR_MS);
  await show('accepted', h0 + 2 * HOUR_MS);
  await store.transition({ interactionId: 'declined', from: ['delivered'], to: 'declined', at: h0 + 3 * HOUR_MS });
  await store.transition({
    interactionId: 'accepted',
    from: ['delivered'],
    to: 'accepted',
    at: h0 + 4 * HOUR_MS,
    channel: 'chat',
  });
  const client = createFanoutClient(server.url);
  await client.connect();
  try {
    for (const n of [1, 2, 3, 4]) {
      const hour = h0 + n * HOUR_MS;
      expect(await client.sendCommand(['PEXPIRETIME', `${prefix}rh:${hour}`])).toBe(hour + HOUR_MS + 30 * DAY);
    }
  } finally {
    client.destroy();
  }
  const hours = await store.reportHours(h0, h0 + 5 * HOUR_MS);
  expect(
    hours.map((h) =>
      Object.keys(h.counts)
        .filter((name) => !name.includes(':'))
        .sort(),
    ),
  ).toEqual([['created'], ['delivered'], ['delivered'], ['declined'], ['accepted']]);
});

it('reads an hour written before the counters were folded as it was written, also with later counts in it', async () => {
  const prefix = `t${randomBytes(6).toString('hex')}:`;
  const store = await openRedisStore({ url: server.url, prefix });
  opened.push(store);
  const hour = hourOf(Date.now()) - HOUR_MS;
  const client = createFanoutClient(server.url);
  await client.connect();
  try {
    // As the scripts counted before: each state beside its names, declines beside their bucket.
    const before = {
      created: '4',
      delivered: '3',
      'ps:/cart': '2',
      'ps:(other)': '1',
      'n:ps': '1',
      accepted: '1',
      'ch:chat': '1',
      'n:ch': '1',
      'pa:/cart': '1',
      'n:pa': '1',
      declined: '2',
      'tta:3': '2',
      'tta:5': '1',
      cancelled: '1',
      're:(none)': '1',
      'n:re': '1',
      expired: '1',
      'rf:UNKNOWN_VISIT': '1',
    };
    await client.hSet(`${prefix}rh:${hour}`, before);
    const written = {
      created: 4,
      delivered: 3,
      'ps:/cart': 2,
      'ps:(other)': 1,
      accepted: 1,
      'ch:chat': 1,
      'pa:/cart': 1,
      declined: 2,
      'tta:3': 2,
      'tta:5': 1,
      cancelled: 1,
      're:(none)': 1,
      expired: 1,
      'rf:UNKNOWN_VISIT': 1,
    };
    expect(await store.reportHours(hour, hour + HOUR_MS)).toEqual([{ hour, counts: written }]);
    // Then, in the same hour, a show, an accept, a cancel and two declines after a show as counted now.
    await client.hIncrBy(`${prefix}rh:${hour}`, 'ps:/cart', 1);
    await client.hIncrBy(`${prefix}rh:${hour}`, 'ch:chat', 1);
    await client.hIncrBy(`${prefix}rh:${hour}`, 're:(none)', 1);
    await client.hIncrBy(`${prefix}rh:${hour}`, 'td:3', 1);
    await client.hIncrBy(`${prefix}rh:${hour}`, 'td:7', 1);
    expect(await store.reportHours(hour, hour + HOUR_MS)).toEqual([
      {
        hour,
        counts: {
          ...written,
          delivered: 4,
          'ps:/cart': 3,
          accepted: 2,
          'ch:chat': 2,
          cancelled: 2,
          're:(none)': 2,
          declined: 4,
          'tta:3': 3,
          'tta:7': 1,
        },
      },
    ]);
  } finally {
    client.destroy();
  }
});
