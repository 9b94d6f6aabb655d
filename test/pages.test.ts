/**
 * The frontend server with real socket.io-client pages: identity, placement
 * on one page, the page's acknowledgement and answers, withdrawal, deadlines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { eventually, startServer, TestPage, type TestServer } from './support.js';

let server: TestServer;
const opened: TestPage[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const page of opened) page.close();
  await server.close();
});

async function open(auth: ConstructorParameters<typeof TestPage>[1] = {}): Promise<TestPage> {
  const page = await TestPage.open(server.url, auth);
  opened.push(page);
  return page;
}

let counter = 0;
const nextId = () => `page-test-${++counter}-${Date.now()}`;

async function stateOf(id: string): Promise<string> {
  return (await server.status(id)).body.state;
}

describe('identity', () => {
  it('mints URL-safe 128-bit ids and signed tokens on connect', async () => {
    const page = await open();
    const { globalVisitId, visitId, pageId, visitToken, pageToken, invitation } = page.session;
    for (const id of [globalVisitId, visitId, pageId]) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set([globalVisitId, visitId, pageId]).size).toBe(3);
    expect(visitToken).toContain(visitId);
    expect(pageToken).toContain(pageId);
    expect(invitation).toBeNull();
  });

  it('resumes the visit and the page from their tokens', async () => {
    const first = await open();
    first.close();
    const again = await open({ visitToken: first.session.visitToken, pageToken: first.session.pageToken });
    expect(again.session).toMatchObject({
      globalVisitId: first.session.globalVisitId,
      visitId: first.session.visitId,
      pageId: first.session.pageId,
    });
  });

  it('gives a second tab the same visit and its own page', async () => {
    const first = await open();
    const second = await open({ visitToken: first.session.visitToken });
    expect(second.session.visitId).toBe(first.session.visitId);
    expect(second.session.pageId).not.toBe(first.session.pageId);
  });

  it('gives a forged or foreign token a fresh visit', async () => {
    const victim = await open();
    const [g, v, issued] = victim.session.visitToken.split('.');
    const forged = `${g}.${v}.${issued}.${'A'.repeat(43)}`;
    const attacker = await open({ visitToken: forged });
    expect(attacker.session.visitId).not.toBe(victim.session.visitId);
    expect(attacker.session.globalVisitId).not.toBe(victim.session.globalVisitId);
    // A valid page token of another visit does not carry over either.
    const other = await open({ pageToken: victim.session.pageToken });
    expect(other.session.pageId).not.toBe(victim.session.pageId);
  });

  it('refuses a handshake without valid page info, and a foreign origin', async () => {
    const bad = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { page: 42 } });
    const error = await new Promise<Error & { data?: { code: string } }>((resolve) => bad.on('connect_error', resolve));
    expect(error.data?.code).toBe('INVALID_PARAMETER');
    bad.close();

    const foreign = io(server.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: { origin: 'https://evil.example' },
      auth: { page: { url: 'https://evil.example/', title: 'x', visible: true, focused: true } },
    });
    await new Promise((resolve) => foreign.on('connect_error', resolve));
    expect(foreign.connected).toBe(false);
    foreign.close();

    const local = new TestPage(server.url, {}, { origin: 'http://localhost:5173' });
    opened.push(local);
    await local.next('session');
  });
});

describe('delivery and answers', () => {
  it('shows the invitation on the most recently active page only, then accepted settles it everywhere', async () => {
    const older = await open({ page: { url: 'http://shop.test/a', title: 'A', visible: false, focused: false } });
    const newer = await open({ visitToken: older.session.visitToken });
    const id = nextId();
    await server.engage({
      interactionId: id,
      visitId: older.session.visitId,
      channels: ['chat', 'callback'],
      invitation: { title: 'Need help?', message: 'We are here' },
      userData: { cart: 3 },
    });
    const offer = await newer.next('invitation:start');
    expect(offer).toMatchObject({
      interactionId: id,
      channels: ['chat', 'callback'],
      invitation: { title: 'Need help?', message: 'We are here' },
      timeoutSeconds: 30,
      remainingMs: 30_000,
      userData: { cart: 3 },
    });
    expect(older.count('invitation:start')).toBe(0);

    expect(await newer.shown(id)).toEqual({ ok: true, state: 'delivered' });
    const delivered = (await server.status(id)).body;
    expect(delivered.state).toBe('delivered');
    expect(delivered.shownPageId).toBe(newer.session.pageId);
    expect(Date.parse(delivered.timeoutAt) - Date.parse(delivered.transitions.delivered)).toBe(30_000);

    // A channel that was not offered is refused and changes nothing.
    expect(await newer.answer(id, 'accepted', 'voice')).toMatchObject({ ok: false, code: 'INVALID_PARAMETER' });
    expect(await stateOf(id)).toBe('delivered');

    expect(await newer.answer(id, 'accepted', 'callback')).toEqual({ ok: true, state: 'accepted' });
    expect((await server.status(id)).body).toMatchObject({ state: 'accepted', channel: 'callback' });
    for (const page of [older, newer]) {
      expect(await page.next('invitation:withdraw', (w) => w.interactionId === id)).toEqual({
        interactionId: id,
        state: 'accepted',
      });
    }
    // The same answer again does not settle it twice.
    expect(await newer.answer(id, 'accepted', 'chat')).toMatchObject({ ok: false, code: 'ALREADY_SETTLED' });
    expect((await server.status(id)).body.channel).toBe('callback');
  });

  it('shows it on the page the caller names', async () => {
    const named = await open();
    const other = await open({ visitToken: named.session.visitToken });
    const id = nextId();
    await server.engage({ interactionId: id, visitId: named.session.visitId, pageId: named.session.pageId });
    await named.next('invitation:start', (o) => o.interactionId === id);
    await new Promise((r) => setTimeout(r, 100));
    expect(other.count('invitation:start')).toBe(0);
    await server.noengage({ interactionId: id });
  });

  it('records declined and a page-reported timeout', async () => {
    for (const outcome of ['declined', 'timed_out'] as const) {
      const page = await open();
      const id = nextId();
      await server.engage({ interactionId: id, visitId: page.session.visitId });
      await page.next('invitation:start');
      await page.shown(id);
      expect(await page.answer(id, outcome)).toEqual({ ok: true, state: outcome });
      expect(await stateOf(id)).toBe(outcome);
    }
  });

  it('withdraws a shown invitation at once on noengage', async () => {
    const page = await open();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    await page.next('invitation:start');
    await page.shown(id);
    await server.noengage({ interactionId: id, reason: 'no-agents' });
    expect(await page.next('invitation:withdraw')).toEqual({ interactionId: id, state: 'cancelled' });
    expect(await page.answer(id, 'accepted', 'chat')).toMatchObject({ ok: false, code: 'ALREADY_SETTLED' });
  });

  it('delivers a pending attempt when a page of the visit connects', async () => {
    const first = await open();
    first.close();
    await eventually(async () => {
      const visits = (await server.get('/backend/data/visits')).body.visits;
      const visit = visits.find((v: { visitId: string }) => v.visitId === first.session.visitId);
      expect(visit.pages).toEqual([]);
    });
    const id = nextId();
    expect((await server.engage({ interactionId: id, visitId: first.session.visitId })).body.state).toBe('pending');
    const later = await open({ visitToken: first.session.visitToken });
    expect(later.session.invitation).toMatchObject({ interactionId: id, remainingMs: 30_000 });
    await later.shown(id);
    expect(await stateOf(id)).toBe('delivered');
    await later.answer(id, 'declined');
  });

  it('ignores answers from a page of another visit', async () => {
    const owner = await open();
    const stranger = await open();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: owner.session.visitId });
    expect(await stranger.shown(id)).toMatchObject({ ok: false, code: 'UNKNOWN_ENGAGEMENT' });
    expect(await stranger.answer(id, 'accepted', 'chat')).toMatchObject({ ok: false, code: 'UNKNOWN_ENGAGEMENT' });
    expect(await stateOf(id)).toBe('pending');
    await server.noengage({ interactionId: id });
  });

  it('refuses malformed payloads with a FAULT ack and keeps serving', async () => {
    const page = await open();
    const socket = page.socket.timeout(2000);
    expect(await socket.emitWithAck('invitation:answer', { interactionId: 5 } as never)).toMatchObject({
      ok: false,
      code: 'INVALID_PARAMETER',
    });
    expect(await socket.emitWithAck('invitation:shown', 'x' as never)).toMatchObject({
      ok: false,
      code: 'INVALID_PARAMETER',
    });
    expect(
      await socket.emitWithAck('invitation:answer', { interactionId: 'a', outcome: 'hacked' } as never),
    ).toMatchObject({ ok: false, code: 'INVALID_PARAMETER' });
    page.socket.emit('page:update', { visible: 'yes' } as never);
    (page.socket as unknown as { emit(event: string): void }).emit('invitation:shown');
    expect((await server.get('/healthz')).status).toBe(200);
    expect(page.socket.connected).toBe(true);
  });
});

describe('deadlines held by the server', () => {
  it('times out a shown invitation nobody answers, and withdraws it', async () => {
    const page = await open();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId, timeoutSeconds: 5 });
    await page.next('invitation:start');
    await page.shown(id);
    expect(await page.next('invitation:withdraw', (w) => w.interactionId === id, 8000)).toEqual({
      interactionId: id,
      state: 'timed_out',
    });
    expect(await stateOf(id)).toBe('timed_out');
  });

  it('times out a shown invitation whose page closed and no other page opened', async () => {
    const page = await open();
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId, timeoutSeconds: 5 });
    await page.next('invitation:start');
    await page.shown(id);
    page.close();
    await eventually(async () => expect(await stateOf(id)).toBe('timed_out'), 9000);
  });

  it('expires an attempt no page showed within expirationSeconds', async () => {
    const page = await open();
    page.close();
    await eventually(async () => expect((await server.beckon.store.openPages(page.session.visitId)).length).toBe(0));
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId, expirationSeconds: 10 });
    await eventually(async () => expect(await stateOf(id)).toBe('expired'), 14_000);
    const status = (await server.status(id)).body;
    expect(Date.parse(status.transitions.expired) - Date.parse(status.transitions.pending)).toBeGreaterThanOrEqual(
      10_000,
    );
  });
});

describe('races', () => {
  it('settles an attempt exactly once when accept, decline and noengage race', async () => {
    for (let round = 0; round < 20; round++) {
      const a = await open();
      const b = await open({ visitToken: a.session.visitToken });
      const id = nextId();
      await server.engage({ interactionId: id, visitId: a.session.visitId });
      await eventually(async () => expect(a.count('invitation:start') + b.count('invitation:start')).toBe(1));
      const results = await Promise.all([
        a.answer(id, 'accepted', 'chat'),
        b.answer(id, 'declined'),
        server.noengage({ interactionId: id }),
      ]);
      const winners = [results[0].ok, results[1].ok, results[2].status === 200].filter(Boolean);
      expect(winners).toHaveLength(1);
      const status = (await server.status(id)).body;
      const terminal = Object.keys(status.transitions).filter((s) => !['pending', 'delivered'].includes(s));
      expect(terminal).toEqual([status.state]);
      a.close();
      b.close();
    }
  });

  it('creates one attempt when the same engage arrives many times at once', async () => {
    const page = await open();
    const id = nextId();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => server.engage({ interactionId: id, visitId: page.session.visitId })),
    );
    expect(replies.every((r) => r.status === 200 && r.body.state === 'pending')).toBe(true);
    await page.next('invitation:start');
    await new Promise((r) => setTimeout(r, 200));
    expect(page.count('invitation:start')).toBe(1);
    await server.noengage({ interactionId: id });
  });
});

describe('opting out', () => {
  it('declines what is shown, refuses engage with VISITOR_OPTED_OUT, tells the other tabs, and can be undone', async () => {
    const page = await open();
    const tab = await open({ visitToken: page.session.visitToken });
    const id = nextId();
    await server.engage({ interactionId: id, visitId: page.session.visitId });
    const offered = await Promise.race([page.next('invitation:start'), tab.next('invitation:start')]);
    expect(offered.interactionId).toBe(id);

    expect(await page.socket.timeout(2000).emitWithAck('visitor:opt', { optedOut: true })).toEqual({
      ok: true,
      optedOut: true,
    });
    expect((await server.status(id)).body).toMatchObject({ state: 'declined', reason: 'opted-out' });
    expect(await tab.next('invitation:withdraw', (w) => w.interactionId === id)).toEqual({
      interactionId: id,
      state: 'declined',
    });
    expect(await tab.next('visitor:opt')).toEqual({ optedOut: true });
    const refused = await server.engage({ interactionId: nextId(), visitId: page.session.visitId });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('VISITOR_OPTED_OUT');

    // A new tab of the same browser learns it from its session.
    const later = await open({ visitToken: page.session.visitToken });
    expect(later.session.optedOut).toBe(true);

    await page.socket.timeout(2000).emitWithAck('visitor:opt', { optedOut: false });
    expect((await server.engage({ interactionId: nextId(), visitId: page.session.visitId })).status).toBe(200);
  });
});

describe('more than one attempt per visit (BECKON_STRICT=false)', () => {
  it('shows only the oldest attempt in progress; the next one waits its turn, then shows', async () => {
    const lenient = await startServer({ strict: false });
    try {
      const page = await TestPage.open(lenient.url);
      const [first, second] = [nextId(), nextId()];
      // Sent together, so that both are created in the same group commit.
      await Promise.all([
        lenient.engage({ interactionId: first, visitId: page.session.visitId }),
        lenient.engage({ interactionId: second, visitId: page.session.visitId }),
      ]);
      expect((await page.next('invitation:start')).interactionId).toBe(first);
      await page.shown(first);
      expect((await lenient.status(second)).body).toMatchObject({ state: 'pending' });
      expect(page.count('invitation:start', (offer) => offer.interactionId === second)).toBe(0);

      await page.answer(first, 'declined');
      expect((await page.next('invitation:start', (offer) => offer.interactionId === second)).interactionId).toBe(
        second,
      );
      expect(page.count('invitation:start', (offer) => offer.interactionId === first)).toBe(1);
      page.close();
    } finally {
      await lenient.close();
    }
  });
});
