/**
 * Webhooks (SPEC §4) against a real HTTP receiver on 127.0.0.1: signed
 * deliveries, one per event, in order per visit; the type filter; retries
 * with growing delays on 500s, on a receiver that is down and on one that
 * hangs; other visits not held up by a failing one. The retry base is
 * shortened (as BECKON_WEBHOOK_RETRY_BASE_MS does) so that this takes
 * seconds; the full schedule is unit-tested in src/backend/webhooks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { BeckonConfig } from '../src/config.js';
import { startServer, TestPage, WebhookReceiver, type ReceivedWebhook, type TestServer } from './support.js';

const SECRET = 'whsec-test-0123456789';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function receiver(port = 0): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start(port);
  cleanup.push(() => r.close());
  return r;
}

async function beckon(url: string, overrides: Partial<BeckonConfig> = {}): Promise<TestServer> {
  const server = await startServer({
    webhookUrl: url,
    webhookSecret: SECRET,
    webhookRetryBaseMs: 100,
    webhookTimeoutMs: 2000,
    ...overrides,
  });
  cleanup.push(() => server.close());
  return server;
}

async function page(server: TestServer, auth = {}): Promise<TestPage> {
  const p = await TestPage.open(server.url, auth);
  cleanup.push(() => p.close());
  return p;
}

let counter = 0;
/** A whole attempt on a page: engage, shown, accepted. Five events with the visit's first two. */
async function acceptedOn(server: TestServer, p: TestPage, userData = {}): Promise<string> {
  const interactionId = `wh-${++counter}-${Date.now()}`;
  expect((await server.engage({ interactionId, visitId: p.session.visitId, userData })).status).toBe(200);
  await p.next('invitation:start', (s) => s.interactionId === interactionId);
  await p.shown(interactionId);
  expect((await p.answer(interactionId, 'accepted', 'chat')).ok).toBe(true);
  return interactionId;
}

/** The receiver's side, as docs/events.md shows it. */
function verify(secret: string, request: ReceivedWebhook): boolean {
  const timestamp = String(request.headers['x-beckon-timestamp'] ?? '');
  const signature = String(request.headers['x-beckon-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

const visitEvents = (server: TestServer, visitId: string) =>
  server.beckon.store.eventsAfter(0, { types: null, visitId }, 1000);

describe('webhooks', () => {
  it('POSTs every event once, signed over "<timestamp>.<raw body>", the same payload as the stream, in order', async () => {
    const hook = await receiver();
    const server = await beckon(hook.url);
    const visitor = await page(server);
    const interactionId = await acceptedOn(server, visitor, { tier: 'gold' });
    const stored = await visitEvents(server, visitor.session.visitId);
    expect(stored.map((e) => e.type)).toEqual([
      'visit.started',
      'page.entered',
      'engagement.pending',
      'engagement.delivered',
      'engagement.accepted',
    ]);
    await hook.until((h) => h.accepted.length >= stored.length);

    const got = hook.received.filter((r) => r.event.visitId === visitor.session.visitId);
    expect(got.map((r) => r.event)).toEqual(stored);
    for (const request of got) {
      expect(verify(SECRET, request)).toBe(true);
      expect(verify('another-secret', request)).toBe(false);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-beckon-event-id']).toBe(request.event.id);
      expect(request.headers['x-beckon-event-type']).toBe(request.event.type);
      expect(request.headers['x-beckon-delivery-attempt']).toBe('1');
    }
    // A tampered body or a replayed signature with another timestamp does not verify.
    const accepted = got.find((r) => r.event.type === 'engagement.accepted')!;
    expect(accepted.event).toMatchObject({ interactionId, channel: 'chat', userData: { tier: 'gold' } });
    expect(verify(SECRET, { ...accepted, body: accepted.body.replace('"chat"', '"voice"') })).toBe(false);
    const later = String(Number(accepted.headers['x-beckon-timestamp']) + 1);
    expect(verify(SECRET, { ...accepted, headers: { ...accepted.headers, 'x-beckon-timestamp': later } })).toBe(false);

    // The receiver has answered; once the sender has read the answer the outbox is empty.
    await waitFor(async () => (await server.beckon.store.webhookBacklog()).waiting === 0);
    expect(await server.beckon.store.webhookBacklog()).toEqual({ waiting: 0, failed: 0 });
  });

  it('sends only the types in BECKON_WEBHOOK_EVENTS', async () => {
    const hook = await receiver();
    const server = await beckon(hook.url, { webhookEvents: ['engagement.accepted', 'engagement.declined'] });
    const visitor = await page(server);
    const first = await acceptedOn(server, visitor);
    const second = `wh-declined-${Date.now()}`;
    await server.engage({ interactionId: second, visitId: visitor.session.visitId });
    await visitor.next('invitation:start', (s) => s.interactionId === second);
    await visitor.answer(second, 'declined');
    await hook.until((h) => h.accepted.length >= 2);
    // Any later event (a page entering) would come after these; there is none to come from this visit.
    expect(hook.accepted.map((e) => [e.type, e.interactionId])).toEqual([
      ['engagement.accepted', first],
      ['engagement.declined', second],
    ]);
  });

  it('retries a receiver that answers 500 with growing delays, the same id and body, then moves on in order', async () => {
    const hook = await receiver();
    hook.answer = (n) => (n < 4 ? 500 : 204); // the first event fails four times
    const server = await beckon(hook.url, { webhookRetryBaseMs: 150 });
    const visitor = await page(server); // visit.started, page.entered
    await hook.until((h) => h.accepted.length >= 2);

    const attempts = hook.received.filter((r) => r.event.id === hook.received[0]!.event.id);
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 500, 500, 204]);
    expect(attempts.map((r) => r.headers['x-beckon-delivery-attempt'])).toEqual(['1', '2', '3', '4', '5']);
    expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    for (const r of attempts) expect(verify(SECRET, r)).toBe(true);

    // Exponential back-off: each wait at least 0.75 × base × 2^n (jitter never shortens more), and growing.
    const gaps = attempts.slice(1).map((r, i) => r.at - attempts[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(0.75 * 150 * 2 ** i - 5));
    expect(gaps[3]).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]).toBeGreaterThan(gaps[0]!);

    // In order per visit: the second event was not sent before the first was taken.
    expect(hook.received.map((r) => r.event.type)).toEqual([
      'visit.started',
      'visit.started',
      'visit.started',
      'visit.started',
      'visit.started',
      'page.entered',
    ]);
    expect(hook.accepted.map((e) => e.pageId)).toEqual([null, visitor.session.pageId]);
  });

  it('retries a receiver that is down until it comes up, and delivers everything', async () => {
    const port = await WebhookReceiver.freePort();
    const server = await beckon(`http://127.0.0.1:${port}/hooks/beckon`);
    const visitor = await page(server);
    await acceptedOn(server, visitor);
    const stored = await visitEvents(server, visitor.session.visitId);
    // Wait until the first event has really failed twice (the server counted it), then bring the receiver up.
    await waitFor(async () => (await failedAttempts(server)) >= 2);
    expect((await server.beckon.store.webhookBacklog()).waiting).toBe(stored.length);
    const hook = await receiver(port);
    await hook.until((h) => h.accepted.length >= stored.length);
    expect(hook.accepted.filter((e) => e.visitId === visitor.session.visitId)).toEqual(stored);
    expect(Number(hook.received[0]!.headers['x-beckon-delivery-attempt'])).toBeGreaterThan(1);
  });

  it('counts a receiver that does not answer in time as a failure and retries', async () => {
    const hook = await receiver();
    hook.answer = (n) => (n === 0 ? 0 : 200); // the first request hangs
    const server = await beckon(hook.url, { webhookTimeoutMs: 300 });
    await page(server);
    await hook.until((h) => h.accepted.length >= 2);
    expect(hook.received[0]!.status).toBe(0);
    expect(hook.received[1]!.event.id).toBe(hook.received[0]!.event.id);
    expect(hook.received[1]!.headers['x-beckon-delivery-attempt']).toBe('2');
    expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(300);
  });

  it('does not hold other visits back behind a visit whose events fail', async () => {
    const hook = await receiver();
    let stuckVisit: string | null = null;
    // Until the stuck visit is known everything fails, so none of its events can slip through.
    hook.answer = (_n, event) => (stuckVisit === null || event.visitId === stuckVisit ? 503 : 204);
    const server = await beckon(hook.url);
    const stuck = await page(server);
    stuckVisit = stuck.session.visitId;
    const healthy = await page(server);
    await acceptedOn(server, healthy);
    const expected = await visitEvents(server, healthy.session.visitId);
    await hook.until((h) => h.accepted.filter((e) => e.visitId === healthy.session.visitId).length >= expected.length);
    expect(hook.accepted.filter((e) => e.visitId === healthy.session.visitId)).toEqual(expected);
    // The stuck visit's first event is still retried, and nothing after it has gone out.
    const stuckTypes = hook.received.filter((r) => r.event.visitId === stuck.session.visitId).map((r) => r.event.type);
    expect(new Set(stuckTypes)).toEqual(new Set(['visit.started']));
    expect((await server.beckon.store.webhookBacklog()).waiting).toBeGreaterThanOrEqual(2);
  });
});

/** Failed delivery attempts this server has made (its own metric, whatever the store). */
async function failedAttempts(server: TestServer): Promise<number> {
  const metric = await server.beckon.metrics.webhookAttempts.get();
  return metric.values.filter((v) => v.labels.result === 'failed').reduce((sum, v) => sum + v.value, 0);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
