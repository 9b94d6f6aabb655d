/**
 * kill -9: webhook events not yet delivered when Beckon dies are
 * delivered after a restart on the same store, and a delivery that was
 * on the wire is sent again (same id). Runs the built server
 * (`dist/server/main.js`, built by `npm test` before Vitest) as a real
 * child process (test/process.ts).
 */
import { afterEach, expect, it } from 'vitest';
import type { BeckonEvent } from '../src/protocol/index.js';
import { signWebhook } from '../src/backend/webhooks/signature.js';
import { openStore, type StoreConfig } from '../src/store/open.js';
import { startBeckonProcess, type BeckonProcess } from './process.js';
import { storeEnv } from './stores.js';
import { metricSample, TestPage, WebhookReceiver } from './support.js';

const SECRET = 'restart-test-secret';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function beckon(env: Record<string, string>): Promise<BeckonProcess> {
  const child = await startBeckonProcess({
    BECKON_SECRET: 'restart-test-token-secret',
    BECKON_WEBHOOK_SECRET: SECRET,
    ...env,
  });
  cleanup.push(() => child.stop());
  return child;
}

/** Reads the store as a third process would, through the store interface. */
async function withStore<T>(
  store: StoreConfig,
  read: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const handle = await openStore(store);
  try {
    return await read(handle);
  } finally {
    await handle.close();
  }
}

/** Failed webhook attempts a Beckon process has counted (its /metrics). */
async function failedAttempts(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricSample(text, 'beckon_webhook_attempts_total{result="failed"}') ?? 0;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** engage → shown → accepted on a real page of the child. */
async function outcomeOn(url: string, p: TestPage): Promise<string> {
  const interactionId = `restart-${Date.now()}`;
  const response = await fetch(`${url}/backend/data/gateway/engage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ixnProfile: { interactionId, visitId: p.session.visitId, userData: { order: 42 } } }),
  });
  expect(response.status).toBe(200);
  await p.next('invitation:start', (s) => s.interactionId === interactionId);
  await p.shown(interactionId);
  expect((await p.answer(interactionId, 'accepted', 'chat')).ok).toBe(true);
  return interactionId;
}

it('delivers after a restart what was still in the outbox when Beckon was killed with -9', async () => {
  const port = await WebhookReceiver.freePort(); // nothing listens: every attempt fails
  const hookEnv = {
    BECKON_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/beckon`,
    BECKON_WEBHOOK_RETRY_BASE_MS: '100',
  };
  const first = await beckon(hookEnv);
  const env = { ...hookEnv, ...storeEnv(first.store) };
  const visitor = await TestPage.open(first.url);
  cleanup.push(() => visitor.close());
  const interactionId = await outcomeOn(first.url, visitor);

  const recorded = await withStore(first.store, (store) => store.eventsAfter(0, { types: null, visitId: null }, 100));
  expect(recorded.map((e) => e.type)).toEqual([
    'visit.started',
    'page.entered',
    'engagement.pending',
    'engagement.delivered',
    'engagement.accepted',
  ]);
  await waitUntil(async () => (await failedAttempts(first.url)) >= 2, 'the first event was not tried twice');
  await first.stop('SIGKILL');
  expect(first.child.signalCode).toBe('SIGKILL');
  visitor.close();

  const hook = await WebhookReceiver.start(port);
  cleanup.push(() => hook.close());
  const second = await beckon(env);
  // The restart closes the page the dead process held: page.left follows in the same lane.
  await hook.until((h) => h.accepted.some((e) => e.type === 'page.left'), 15_000);

  const delivered = hook.accepted;
  expect(delivered.map((e) => e.type)).toEqual([...recorded.map((e) => e.type), 'page.left']);
  expect(delivered.slice(0, recorded.length).map((e) => e.id)).toEqual(recorded.map((e) => e.id));
  expect(delivered.find((e) => e.type === 'engagement.accepted')).toMatchObject({
    interactionId,
    channel: 'chat',
    userData: { order: 42 },
  });
  for (const request of hook.received) {
    const timestamp = Number(request.headers['x-beckon-timestamp']);
    expect(request.headers['x-beckon-signature']).toBe(signWebhook(SECRET, timestamp, request.body));
  }
  // The attempts made before the crash were counted: the first event reports a later attempt.
  expect(Number(hook.received[0]!.headers['x-beckon-delivery-attempt'])).toBeGreaterThan(2);

  await second.stop();
  expect(await withStore(first.store, (store) => store.webhookBacklog())).toEqual({ waiting: 0, failed: 0 });
});

it('sends again, with the same id, a delivery that was on the wire when Beckon was killed', async () => {
  const hook = await WebhookReceiver.start();
  cleanup.push(() => hook.close());
  let killed = false;
  hook.answer = () => (killed ? 204 : 0); // nothing the first process sends is ever answered
  const hookEnv = { BECKON_WEBHOOK_URL: hook.url, BECKON_WEBHOOK_TIMEOUT_MS: '500' };
  const first = await beckon(hookEnv);
  const env = { ...hookEnv, ...storeEnv(first.store) };
  const visitor = await TestPage.open(first.url);
  cleanup.push(() => visitor.close());
  await hook.until((h) => h.received.length === 1);
  const inFlight: BeckonEvent = hook.received[0]!.event;
  await first.stop('SIGKILL');
  killed = true;
  visitor.close();

  // After the restart the claim of the dead process runs out (its timeout plus a margin) and the event goes again.
  await beckon(env);
  await hook.until((h) => h.accepted.some((e) => e.id === inFlight.id), 20_000);
  const copies = hook.received.filter((r) => r.event.id === inFlight.id);
  expect(copies.length).toBeGreaterThanOrEqual(2);
  expect(new Set(copies.map((r) => r.body)).size).toBe(1); // the same payload: receivers dedupe by id
  await hook.until((h) => h.accepted.some((e) => e.type === 'page.left'));
  expect(hook.accepted.map((e) => e.type)).toEqual(['visit.started', 'page.entered', 'page.left']);
});
