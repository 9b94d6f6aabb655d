/**
 * The REST gateway on a real server (port 0, real fetch): both encodings,
 * both path styles, every FAULT this part of Beckon can produce, and the
 * lifecycle rules that callers see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS } from '../src/protocol/index.js';
import { startServer, TestPage, type Reply, type TestServer } from './support.js';

let server: TestServer;
const pages: TestPage[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const page of pages) page.close();
  await server.close();
});

async function newVisit(): Promise<TestPage> {
  const page = await TestPage.open(server.url);
  pages.push(page);
  return page;
}

let counter = 0;
const nextId = () => `ixn-${++counter}-${Date.now()}`;

function expectFault(reply: Reply, code: keyof typeof FAULTS): void {
  expect(reply.status).toBe(FAULTS[code].status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.body).toMatchObject({ status: 'FAULT', code });
  expect(typeof reply.body.message).toBe('string');
  expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.(js|ts):\d+/); // no stack traces
}

describe('engage', () => {
  it('answers OK with the pending state, and the attempt can be read back', async () => {
    const page = await newVisit();
    const id = nextId();
    const reply = await server.engage({ interactionId: id, visitId: page.session.visitId, userData: { order: 7 } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'OK', interactionId: id, state: 'pending' });
    const status = await server.status(id);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      interactionId: id,
      visitId: page.session.visitId,
      state: 'pending',
      channels: ['chat'],
      userData: { order: 7 },
      timeoutSeconds: 30,
      expirationSeconds: 30,
    });
    expect(status.body.transitions.pending).toMatch(/^\d{4}-\d\d-\d\dT/);
    await server.noengage({ interactionId: id });
  });

  it('accepts ixnProfile as JSON text inside JSON', async () => {
    const page = await newVisit();
    const id = nextId();
    const reply = await server.post('/backend/data/gateway/engage', {
      ixnProfile: JSON.stringify({ interactionID: id, visitID: page.session.visitId }),
    });
    expect(reply.body).toEqual({ status: 'OK', interactionId: id, state: 'pending' });
    await server.noengage({ interactionId: id });
  });

  it('accepts form-urlencoded bodies on the GWE 8.5 path', async () => {
    const page = await newVisit();
    const id = nextId();
    const form = new URLSearchParams({ ixnProfile: JSON.stringify({ ixnId: id, visitId: page.session.visitId }) });
    const reply = await server.post('/server/data/gateway/engage', form.toString(), {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(reply.body).toEqual({ status: 'OK', interactionId: id, state: 'pending' });
    const cancel = new URLSearchParams({ cancelData: JSON.stringify({ interactionId: id, reason: 'pacing' }) });
    const cancelled = await server.post('/server/data/gateway/noengage', cancel.toString(), {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(cancelled.body).toEqual({ status: 'OK', interactionId: id, state: 'cancelled' });
    expect((await server.status(id)).body.reason).toBe('pacing');
  });

  it('is idempotent: the same id and visit answers the current state and shows nothing twice', async () => {
    const page = await newVisit();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    await page.next('invitation:start');
    const again = await server.engage({ interactionId: id, visitId: page.session.visitId });
    expect(again.body).toEqual({ status: 'OK', interactionId: id, state: 'pending' });
    await new Promise((r) => setTimeout(r, 200));
    expect(page.count('invitation:start', (o) => o.interactionId === id)).toBe(1);
    await page.answer(id, 'declined');
    const settled = await server.engage({ interactionId: id, visitId: page.session.visitId });
    expect(settled.body).toEqual({ status: 'OK', interactionId: id, state: 'declined' });
  });

  it('refuses an unknown visit', async () => {
    expectFault(await server.engage({ interactionId: nextId(), visitId: 'no-such-visit' }), 'UNKNOWN_VISIT');
  });

  it('refuses a second attempt for the same visit in strict mode', async () => {
    const page = await newVisit();
    const first = nextId();
    await server.engage({ interactionId: first, visitId: page.session.visitId });
    const reply = await server.engage({ interactionId: nextId(), visitId: page.session.visitId });
    expectFault(reply, 'ENGAGEMENT_IN_PROGRESS');
    expect(reply.body.message).toContain(first);
    await server.noengage({ interactionId: first });
  });

  it('refuses the same id for another visit', async () => {
    const a = await newVisit();
    const b = await newVisit();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: a.session.visitId });
    expectFault(await server.engage({ interactionId: id, visitId: b.session.visitId }), 'INTERACTION_CONFLICT');
    await server.noengage({ interactionId: id });
  });
});

describe('noengage', () => {
  it('cancels, and cancelling again is OK', async () => {
    const page = await newVisit();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    expect((await server.noengage({ interactionId: id, reason: 'no-agents' })).body).toEqual({
      status: 'OK',
      interactionId: id,
      state: 'cancelled',
    });
    expect((await server.noengage({ interactionId: id })).body.state).toBe('cancelled');
    const status = await server.status(id);
    expect(status.body).toMatchObject({ state: 'cancelled', reason: 'no-agents' });
    expect(Object.keys(status.body.transitions)).toEqual(['pending', 'cancelled']);
  });

  it('keeps a cancelled record for an unknown id, so a late engage is refused', async () => {
    const page = await newVisit();
    const id = nextId();
    expect((await server.noengage({ interactionId: id })).body).toEqual({
      status: 'OK',
      interactionId: id,
      state: 'cancelled',
    });
    expectFault(await server.engage({ interactionId: id, visitId: page.session.visitId }), 'ENGAGEMENT_CANCELLED');
  });

  it('refuses to cancel a settled attempt and names its state', async () => {
    const page = await newVisit();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    await page.next('invitation:start', (o) => o.interactionId === id);
    await page.shown(id);
    await page.answer(id, 'accepted', 'chat');
    const reply = await server.noengage({ interactionId: id });
    expectFault(reply, 'ALREADY_SETTLED');
    expect(reply.body.state).toBe('accepted');
  });

  it('refuses a visitId that does not match the attempt', async () => {
    const page = await newVisit();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    expectFault(await server.noengage({ interactionId: id, visitId: 'other-visit' }), 'INTERACTION_CONFLICT');
    expect((await server.status(id)).body.state).toBe('pending');
    await server.noengage({ interactionId: id });
  });
});

describe('bad requests get FAULT bodies and change nothing', () => {
  it('names each invalid field in details', async () => {
    const reply = await server.engage({ interactionId: '', visitId: 5, timeoutSeconds: 2, channels: ['Chat'] });
    expectFault(reply, 'INVALID_PARAMETER');
    expect(reply.body.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'ixnProfile.channels.0',
      'ixnProfile.interactionId',
      'ixnProfile.timeoutSeconds',
      'ixnProfile.visitId',
    ]);
  });

  it('refuses malformed JSON, a missing parameter, JSON text that is not JSON, and prototype keys', async () => {
    expectFault(await server.post('/backend/data/gateway/engage', '{"ixnProfile":'), 'INVALID_PARAMETER');
    expectFault(await server.post('/backend/data/gateway/engage', {}), 'INVALID_PARAMETER');
    expectFault(await server.post('/backend/data/gateway/engage', []), 'INVALID_PARAMETER');
    expectFault(await server.post('/backend/data/gateway/engage', 'null'), 'INVALID_PARAMETER');
    expectFault(await server.post('/backend/data/gateway/engage', { ixnProfile: '{nope' }), 'INVALID_PARAMETER');
    expectFault(await server.post('/backend/data/gateway/engage', { ixnProfile: 42 }), 'INVALID_PARAMETER');
    expectFault(
      await server.post('/backend/data/gateway/engage', '{"ixnProfile":{"__proto__":{"admin":true}}}'),
      'INVALID_PARAMETER',
    );
    expectFault(
      await server.post('/backend/data/gateway/engage', {
        ixnProfile: '{"interactionId":"a","visitId":"b","x":{"__proto__":{"admin":true}}}',
      }),
      'INVALID_PARAMETER',
    );
    expectFault(
      await server.post('/backend/data/gateway/engage', '{"ixnProfile":{"constructor":{"prototype":{}}}}'),
      'INVALID_PARAMETER',
    );
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses a form parameter given twice', async () => {
    const reply = await server.post('/backend/data/gateway/engage', 'ixnProfile=%7B%7D&ixnProfile=%7B%7D', {
      contentType: 'application/x-www-form-urlencoded',
    });
    expectFault(reply, 'INVALID_PARAMETER');
  });

  it('refuses other content types with 415', async () => {
    expectFault(
      await server.post('/backend/data/gateway/engage', 'ixnProfile', { contentType: 'text/plain' }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectFault(
      await server.post('/backend/data/gateway/engage', '<x/>', { contentType: 'application/xml' }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('refuses bodies over 64 KB with 413', async () => {
    expectFault(
      await server.post('/backend/data/gateway/engage', { ixnProfile: 'x'.repeat(70_000) }),
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('answers 404 FAULT for an unknown engagement and an unknown path', async () => {
    expectFault(await server.status('never-seen'), 'UNKNOWN_ENGAGEMENT');
    expectFault(await server.get('/backend/data/nothing-here'), 'NOT_FOUND');
  });

  it('leaves no trace of refused engages', async () => {
    const page = await newVisit();
    const id = nextId();
    expectFault(
      await server.engage({ interactionId: id, visitId: page.session.visitId, timeoutSeconds: 1 }),
      'INVALID_PARAMETER',
    );
    expectFault(await server.status(id), 'UNKNOWN_ENGAGEMENT');
    expect(page.count('invitation:start')).toBe(0);
  });
});

describe('visits', () => {
  it('lists live visits with their open pages', async () => {
    const page = await newVisit();
    const reply = await server.get('/backend/data/visits');
    expect(reply.status).toBe(200);
    const visit = reply.body.visits.find((v: { visitId: string }) => v.visitId === page.session.visitId);
    expect(visit).toMatchObject({
      globalVisitId: page.session.globalVisitId,
      activeInteractionId: null,
      pages: [{ pageId: page.session.pageId, url: 'http://shop.test/', title: 'Shop', visible: true, locale: 'en' }],
    });
  });
});

describe('authentication', () => {
  let secured: TestServer;
  beforeAll(async () => {
    secured = await startServer({ apiToken: 's3cret-token' });
  });
  afterAll(() => secured.close());

  it('refuses a missing or wrong token with 401', async () => {
    expectFault(await secured.get('/backend/data/visits'), 'UNAUTHORIZED');
    const wrong = await secured.get('/backend/data/visits', { authorization: 'Bearer nope' });
    expectFault(wrong, 'UNAUTHORIZED');
    expect(wrong.headers.get('www-authenticate')).toMatch(/Bearer/);
  });

  it('accepts Bearer, and Basic with the token as password', async () => {
    expect((await secured.get('/backend/data/visits', { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    const basic = Buffer.from('strategy:s3cret-token').toString('base64');
    expect((await secured.get('/server/data/visits', { authorization: `Basic ${basic}` })).status).toBe(200);
  });

  it('with no token configured, serves loopback callers only', async () => {
    const app = server.beckon.app;
    const local = await app.inject({ method: 'GET', url: '/backend/data/visits', remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
    const remote = await app.inject({ method: 'GET', url: '/backend/data/visits', remoteAddress: '203.0.113.9' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toMatchObject({ status: 'FAULT', code: 'UNAUTHORIZED' });
  });
});
