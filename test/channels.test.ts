/**
 * Channels and pacing through the API (docs/pacing.md) on a real server, on
 * the store the run uses (SQLite or Redis): channel settings kept as data,
 * capacity reports, an engage narrowed to the channels open now (the page is
 * offered only those) or refused with NO_CAPACITY naming each channel and its
 * reason, `/pacing`, the funnel's refused and narrowed counts, and the
 * Prometheus gauges. The server's clock is held and moved by the test.
 * Races between processes are in the store contract
 * (test/store-contract/processes.test.ts) and the cluster e2e.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, TestPage, type TestServer } from './support.js';

const servers: TestServer[] = [];
const pages: TestPage[] = [];
afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  for (const server of servers.splice(0)) await server.close();
});

/** Wednesday 2 December 2026, 10:00 in Paris (09:00 UTC). */
const WEDNESDAY_10_PARIS = Date.parse('2026-12-02T09:00:00Z');

async function serverWithPage(start = WEDNESDAY_10_PARIS) {
  const clock = { now: start };
  const server = await startServer({ strict: false }, { now: () => clock.now });
  servers.push(server);
  const page = await TestPage.open(server.url);
  pages.push(page);
  return { server, page, clock, visitId: page.session.visitId as string };
}

const weekdays = (ranges: [string, string][]) =>
  Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, ranges]));

describe('channel settings through the API', () => {
  it('puts, reads, lists, replaces and deletes a channel', async () => {
    const { server } = await serverWithPage();
    const body = {
      hours: { timeZone: 'Europe/Paris', weekly: weekdays([['09:00', '18:00']]), closed: ['2026-12-25'] },
      pacing: { mode: 'progressive', proactiveShare: 0.8 },
    };
    const created = await server.put('/backend/data/channels/chat', body);
    expect(created.status).toBe(201);
    const stored = {
      channel: 'chat',
      hours: body.hours,
      pacing: {
        mode: 'progressive',
        proactiveShare: 0.8,
        initialAcceptanceRate: 0.2,
        minAcceptanceRate: 0.05,
        maxOnScreen: null,
        capacityStaleSeconds: 60,
      },
    };
    expect(created.body).toEqual(stored);
    expect((await server.get('/backend/data/channels/chat')).body).toEqual(stored);
    // The GWE 8.5 prefix serves the same data.
    expect((await server.get('/server/data/channels/chat')).body).toEqual(stored);
    const replaced = await server.put('/backend/data/channels/chat', { pacing: { mode: 'fixed', maxOnScreen: 3 } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ channel: 'chat', hours: null, pacing: { mode: 'fixed', maxOnScreen: 3 } });
    await server.put('/backend/data/channels/callback', {});
    const list = await server.get('/backend/data/channels');
    expect(list.body.channels.map((c: { channel: string }) => c.channel)).toEqual(['callback', 'chat']);
    expect((await server.delete('/backend/data/channels/chat')).body).toEqual({ status: 'OK', channel: 'chat' });
    for (const reply of [
      await server.get('/backend/data/channels/chat'),
      await server.delete('/backend/data/channels/chat'),
    ]) {
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({
        status: 'FAULT',
        code: 'NOT_FOUND',
        message: expect.stringContaining('chat'),
      });
    }
  });

  it('names the bad field and stores nothing', async () => {
    const { server } = await serverWithPage();
    const bad = await server.put('/backend/data/channels/chat', {
      hours: { timeZone: 'Paris', weekly: { mon: [['18:00', '09:00']] } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_PARAMETER');
    expect(bad.body.details.map((d: { path: string }) => d.path)).toEqual(['hours.timeZone', 'hours.weekly.mon.0']);
    const name = await server.put('/backend/data/channels/Chat_Room', {});
    expect(name.status).toBe(400);
    expect(name.body.details).toEqual([{ path: 'channel', message: expect.any(String) }]);
    const hostile = await server.put('/backend/data/channels/chat', JSON.parse('{"__proto__": {"x": 1}}'));
    expect(hostile.status).toBe(400);
    expect((await server.get('/backend/data/channels')).body).toEqual({ channels: [] });
  });

  it('takes a capacity report in either form for a configured channel, timestamped on receipt', async () => {
    const { server, clock } = await serverWithPage();
    expect((await server.put('/backend/data/channels/chat/capacity', { freeSlots: 3 })).status).toBe(404);
    await server.put('/backend/data/channels/chat', { pacing: { mode: 'progressive' } });
    const short = await server.put('/backend/data/channels/chat/capacity', { freeSlots: 3 });
    expect(short.body).toEqual({ channel: 'chat', freeSlots: 3, reportedAt: new Date(clock.now).toISOString() });
    clock.now += 5000;
    const long = await server.put('/backend/data/channels/chat/capacity', {
      agentsReady: 4,
      maxPerAgent: 2,
      active: 5,
      queued: 1,
    });
    expect(long.body).toEqual({ channel: 'chat', freeSlots: 2, reportedAt: new Date(clock.now).toISOString() });
    const bad = await server.put('/backend/data/channels/chat/capacity', {
      agentsReady: 4,
      maxPerAgent: -1,
      active: 0,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { path: string }) => d.path)).toEqual(['maxPerAgent']);
  });
});

describe('the API document', () => {
  it('describes the channel, capacity and pacing routes with their schemas', async () => {
    const { server } = await serverWithPage();
    const doc = (await server.get('/openapi.json')).body;
    for (const prefix of ['/backend/data', '/server/data']) {
      expect(Object.keys(doc.paths[`${prefix}/channels/{channel}`]).sort()).toEqual(['delete', 'get', 'put']);
      expect(Object.keys(doc.paths[`${prefix}/channels/{channel}/capacity`])).toEqual(['put']);
      expect(Object.keys(doc.paths[`${prefix}/pacing`])).toEqual(['get']);
      expect(Object.keys(doc.paths[`${prefix}/channels`])).toEqual(['get']);
    }
    expect(doc.components.schemas.ChannelSettings.properties.pacing).toBeDefined();
    expect(doc.components.schemas.PacingStatus.properties.channels).toBeDefined();
    expect(doc.paths['/backend/data/gateway/engage'].post.responses['400'].description).toContain('NO_CAPACITY');
  });
});

describe('pacing at engage through the API', () => {
  it('offers the page only the channels open now, and counts the narrowing', async () => {
    const { server, page, visitId } = await serverWithPage();
    await server.put('/backend/data/channels/chat', { pacing: { mode: 'fixed', maxOnScreen: 0 } });
    const engaged = await server.engage({ interactionId: 'narrowed', visitId, channels: ['chat', 'callback'] });
    expect(engaged.status).toBe(200);
    const offer = await page.next('invitation:start', (o) => o.interactionId === 'narrowed');
    expect(offer.channels).toEqual(['callback']);
    expect((await server.status('narrowed')).body.channels).toEqual(['callback']);
    const report = await server.get('/backend/data/reports/engagements');
    expect(report.body.totals).toMatchObject({ created: 1, narrowed: 1 });
  });

  it('refuses with NO_CAPACITY, each channel with its reason, and retryAfter from the hours', async () => {
    const { server, visitId } = await serverWithPage(Date.parse('2026-12-02T19:00:00Z')); // 20:00 in Paris
    await server.put('/backend/data/channels/chat', {
      hours: { timeZone: 'Europe/Paris', weekly: weekdays([['09:00', '18:00']]) },
    });
    await server.put('/backend/data/channels/callback', { pacing: { mode: 'progressive' } });
    const refused = await server.engage({ interactionId: 'late', visitId, channels: ['callback', 'chat'] });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      status: 'FAULT',
      code: 'NO_CAPACITY',
      message: expect.stringContaining('chat is outside its business hours'),
      details: [
        {
          path: 'ixnProfile.channels.0',
          channel: 'callback',
          reason: 'capacity-unknown',
          message: 'callback has no recent capacity report',
        },
        {
          path: 'ixnProfile.channels.1',
          channel: 'chat',
          reason: 'outside-hours',
          message: 'chat is outside its business hours',
        },
      ],
      // Thursday 09:00 in Paris.
      retryAfter: '2026-12-03T08:00:00.000Z',
    });
    expect((await server.status('late')).status).toBe(404);
    const report = await server.get('/backend/data/reports/engagements');
    expect(report.body.totals.refused).toEqual({
      UNKNOWN_VISIT: 0,
      VISITOR_OPTED_OUT: 0,
      ENGAGEMENT_IN_PROGRESS: 0,
      VISITOR_CAPPED: 0,
      NO_CAPACITY: 1,
    });
  });

  it('answers a repeated engage as before, whatever pacing says now (idempotency first)', async () => {
    const { server, visitId } = await serverWithPage();
    await server.put('/backend/data/channels/chat', { pacing: { mode: 'fixed', maxOnScreen: 1 } });
    expect((await server.engage({ interactionId: 'first', visitId })).body.state).toBe('pending');
    expect((await server.engage({ interactionId: 'second', visitId })).body.code).toBe('NO_CAPACITY');
    const again = await server.engage({ interactionId: 'first', visitId });
    expect(again.status).toBe(200);
    expect(again.body.interactionId).toBe('first');
  });

  it('leaves an unconfigured channel unpaced, as before channels existed', async () => {
    const { server, visitId } = await serverWithPage();
    for (let i = 0; i < 5; i++) {
      expect((await server.engage({ interactionId: `free-${i}`, visitId, channels: ['chat'] })).status).toBe(200);
    }
    expect((await server.get('/backend/data/pacing')).body).toEqual({ channels: [] });
  });
});

describe('seeing pacing', () => {
  it('shows every configured channel in /pacing and in the Prometheus gauges', async () => {
    const { server, page, clock, visitId } = await serverWithPage();
    await server.put('/backend/data/channels/chat', {
      hours: { timeZone: 'Europe/Paris', weekly: weekdays([['09:00', '18:00']]) },
      pacing: { mode: 'progressive' },
    });
    await server.put('/backend/data/channels/voice', { pacing: { mode: 'fixed', maxOnScreen: 2 } });
    await server.put('/backend/data/channels/chat/capacity', { freeSlots: 1 });
    const reportedAt = new Date(clock.now).toISOString();
    for (const id of ['p1', 'p2']) expect((await server.engage({ interactionId: id, visitId })).status).toBe(200);
    await page.next('invitation:start', (o) => o.interactionId === 'p1');
    expect((await page.shown('p1')).ok).toBe(true);
    expect((await page.answer('p1', 'accepted', 'chat')).ok).toBe(true);
    const pacing = await server.get('/backend/data/pacing');
    expect(pacing.status).toBe(200);
    expect(pacing.body).toEqual({
      channels: [
        {
          channel: 'chat',
          open: false,
          reason: 'no-free-agents',
          freeSlots: 1,
          reportedAt,
          acceptedSinceReport: 1,
          inProgress: 1,
          acceptanceRate: 0.2,
          allowance: 0,
          opensAt: null,
          closesAt: '2026-12-02T17:00:00.000Z',
        },
        {
          channel: 'voice',
          open: true,
          reason: null,
          freeSlots: null,
          reportedAt: null,
          acceptedSinceReport: 0,
          inProgress: 0,
          acceptanceRate: 0.2,
          allowance: 2,
          opensAt: null,
          closesAt: null,
        },
      ],
    });
    const metrics = (await server.get('/metrics')).body as string;
    expect(metrics).toMatch(/^beckon_channel_open\{channel="chat"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^beckon_channel_open\{channel="voice"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^beckon_channel_allowance\{channel="voice"[^}]*\} 2$/m);
    expect(metrics).toMatch(/^beckon_channel_in_progress\{channel="chat"[^}]*\} 1$/m);
  });
});
