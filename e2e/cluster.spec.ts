/**
 * Beckon as several processes behind nginx, in Chromium (docs/operations.md):
 * a real redis-server (AOF, appendfsync always), two backends and two
 * frontends (`node dist/server/main.js` with roles, child processes), nginx
 * in front on one port (scripts/cluster/nginx.ts), and a webhook receiver on
 * loopback. The browser only ever talks to nginx; the tests call each backend
 * directly on its own port, and learn which frontend holds a tab from each
 * frontend's `/metrics` (`beckon_sockets_connected`). Everything is stopped
 * by PID.
 *
 * The tests share the cluster and run in order; the last two each kill a
 * frontend with -9 (the last starts the one killed before it again first).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { callerFor, newInteractionId, reportBackground, visitorIds, type Caller } from './fixtures.js';
import { invitesOn as allInvitesOn, recordInvites } from './invites.js';
import { startNginx, type Nginx } from '../scripts/cluster/nginx.js';
import { startNode, type BeckonNode } from '../scripts/cluster/node.js';
import { freePort, startRedisServer, type RedisServer } from '../test/redis-server.js';

test.describe.configure({ mode: 'serial' });

const WEBHOOK_SECRET = randomBytes(16).toString('hex');

interface Delivery {
  id: string;
  type: string;
  interactionId: string | undefined;
  signed: boolean;
}

let redis: RedisServer;
let nginx: Nginx;
let receiver: Server;
const deliveries: Delivery[] = [];
const backends: BeckonNode[] = [];
const frontends: BeckonNode[] = [];
let callers: Caller[] = [];
/** Starts a node of the cluster (a frontend killed by a test is started again the same way). */
let startClusterNode: (name: string, role: 'backend' | 'frontend', port?: number) => Promise<BeckonNode>;

test.beforeAll(async ({}, testInfo) => {
  testInfo.setTimeout(60_000);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const timestamp = String(req.headers['x-beckon-timestamp'] ?? '');
      const expected = 'sha256=' + createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${body}`).digest('hex');
      const event = JSON.parse(body);
      deliveries.push({
        id: event.id,
        type: event.type,
        interactionId: event.interactionId ?? undefined,
        signed: req.headers['x-beckon-signature'] === expected,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  redis = await startRedisServer({ appendfsync: 'always' });
  const env = {
    REDIS_URL: redis.url,
    BECKON_SECRET: randomBytes(32).toString('hex'),
    BECKON_REDIS_PREFIX: `e2e${randomBytes(4).toString('hex')}:`,
    BECKON_WEBHOOK_URL: webhookUrl,
    BECKON_WEBHOOK_SECRET: WEBHOOK_SECRET,
    BECKON_WEBHOOK_RETRY_BASE_MS: '200',
    LOG_LEVEL: 'warn',
  };
  // LOG_LEVEL warn would hide the line that names the URL: the node helper needs info to see it.
  startClusterNode = (name, role, port) =>
    startNode({ name, role, env: { ...env, LOG_LEVEL: 'info' }, ...(port ? { port } : {}) });
  const start = (name: string, role: 'backend' | 'frontend') => startClusterNode(name, role);
  backends.push(...(await Promise.all([start('e2e-backend-1', 'backend'), start('e2e-backend-2', 'backend')])));
  frontends.push(...(await Promise.all([start('e2e-frontend-1', 'frontend'), start('e2e-frontend-2', 'frontend')])));
  callers = backends.map((node) => callerFor(node.url));
  nginx = await startNginx({
    port: await freePort(),
    backendPorts: backends.map((node) => node.port),
    frontendPorts: frontends.map((node) => node.port),
  });
});

test.afterAll(async () => {
  await nginx?.dispose();
  await Promise.all([...frontends, ...backends].map((node) => node.stop('SIGKILL')));
  await redis?.dispose();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** beckon_sockets_connected on each frontend, read from its own port; a dead frontend counts 0. */
async function socketsPerFrontend(): Promise<number[]> {
  return Promise.all(
    frontends.map(async (node) => {
      if (node.child.exitCode !== null || node.child.signalCode !== null) return 0;
      return gauge(await (await fetch(`${node.url}/metrics`)).text(), 'beckon_sockets_connected');
    }),
  );
}

async function webhookBacklog(): Promise<number> {
  return gauge(await (await fetch(`${backends[0]!.url}/metrics`)).text(), 'beckon_webhook_backlog');
}

/** The value of a metric with no labels of its own (every series carries the node's role and node labels). */
function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(' ').pop() ?? NaN);
}

const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: nginx.url });
  await recordInvites(context);
  return context;
}

/** The invitations with `id` that `page` received (none once it is closed). */
async function invitesOn(page: Page, id: string): Promise<{ interactionId: string; remainingMs: number }[]> {
  if (page.isClosed()) return [];
  return (await allInvitesOn(page)).filter((i) => i.interactionId === id);
}

/**
 * Two tabs of one visit whose sockets are on different frontends. nginx
 * spreads requests round robin, so a new tab's socket lands on either: a tab
 * whose socket went to the first one's frontend is closed, and another opened
 * after one or two more requests through nginx.
 */
async function tabsOnBothFrontends(
  context: BrowserContext,
): Promise<{ tabs: [Page, Page]; holders: [number, number] }> {
  await expect.poll(socketsPerFrontend).toEqual([0, 0]);
  const first = await context.newPage();
  await first.goto('/');
  await visitorIds(first);
  await expect.poll(async () => sum(await socketsPerFrontend())).toBe(1);
  const firstOn = (await socketsPerFrontend()).indexOf(1);
  for (let attempt = 0; attempt < 8; attempt++) {
    const second = await context.newPage();
    await second.goto('/products.html');
    await visitorIds(second);
    await expect.poll(async () => sum(await socketsPerFrontend())).toBe(2);
    const counts = await socketsPerFrontend();
    if (counts[firstOn] === 1) return { tabs: [first, second], holders: [firstOn, 1 - firstOn] };
    await second.close();
    await expect.poll(async () => sum(await socketsPerFrontend())).toBe(1);
    // A page load makes the same number of requests each time (its assets, the prefetched card and the
    // socket), so the next tab's socket lands on the other frontend only if that number plus the requests
    // made here is odd. Whatever the page's count, one request after one attempt and two after the next
    // make one of any two attempts in a row land there.
    for (let extra = 0; extra <= attempt % 2; extra++) await fetch(`${nginx.url}/healthz`);
  }
  throw new Error('eight tabs in a row went to the same frontend: is nginx spreading sockets?');
}

test('two tabs on different frontends share the visit; an engage on either backend shows once on the tab in front, the answer reaches both backends, and noengage on the other backend withdraws at once', async ({
  browser,
}) => {
  const context = await newContext(browser);
  const { tabs, holders } = await tabsOnBothFrontends(context);
  const [back, front] = tabs;
  expect(holders[0]).not.toBe(holders[1]);
  const { visitId } = await visitorIds(back);
  expect((await visitorIds(front)).visitId).toBe(visitId);
  await expect.poll(() => callers[0]!.openPages(visitId)).toHaveLength(2);

  // The tab in front (on the other frontend) is the right one; Headless Chromium says every tab is in front.
  await reportBackground(back, callers[0]!);
  await front.evaluate(() => window.dispatchEvent(new Event('focus')));

  for (const [engageOn, label] of [
    [0, 'b1'],
    [1, 'b2'],
  ] as const) {
    const id = newInteractionId(`cluster-${label}`);
    const title = `From backend ${engageOn + 1}`;
    expect((await callers[engageOn]!.engage({ interactionId: id, visitId, invitation: { title } })).status).toBe(200);
    const dialog = front.getByRole('dialog', { name: title });
    await expect(dialog).toBeVisible();
    for (const caller of callers) await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');
    expect(await invitesOn(front, id)).toHaveLength(1);
    expect(await invitesOn(back, id)).toHaveLength(0);
    await expect(back.getByRole('dialog')).toHaveCount(0);

    await dialog.getByRole('button', { name: 'Chat now' }).click();
    await expect(front.getByRole('dialog')).toHaveCount(0);
    for (const caller of callers) {
      await expect
        .poll(async () => (await caller.status(id)).body)
        .toMatchObject({ state: 'accepted', channel: 'chat' });
    }
  }

  // noengage on the other backend withdraws the invitation at once.
  for (const [engageOn, cancelOn] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const id = newInteractionId('cluster-withdraw');
    await callers[engageOn]!.engage({ interactionId: id, visitId, invitation: { title: 'Withdrawn soon' } });
    await expect(front.getByRole('dialog', { name: 'Withdrawn soon' })).toBeVisible();
    await expect.poll(async () => (await callers[cancelOn]!.status(id)).body.state).toBe('delivered');
    const cancelled = Date.now();
    expect((await callers[cancelOn]!.noengage({ interactionId: id })).status).toBe(200);
    await expect(front.getByRole('dialog')).toHaveCount(0, { timeout: 2_000 });
    expect(Date.now() - cancelled).toBeLessThan(2_000);
    for (const caller of callers) expect((await caller.status(id)).body.state).toBe('cancelled');
  }
  await context.close();
});

test('with two backends watching, each unanswered invitation times out once: one engagement.timed_out per attempt', async ({
  browser,
}) => {
  const contexts = await Promise.all([newContext(browser), newContext(browser), newContext(browser)]);
  const ids: string[] = [];
  await Promise.all(
    contexts.map(async (context, i) => {
      const page = await context.newPage();
      await page.goto('/');
      const { visitId } = await visitorIds(page);
      const id = newInteractionId(`cluster-timeout-${i}`);
      ids.push(id);
      expect(
        (
          await callers[i % 2]!.engage({
            interactionId: id,
            visitId,
            timeoutSeconds: 5,
            invitation: { title: 'Soon gone' },
          })
        ).status,
      ).toBe(200);
      await expect(page.getByRole('dialog', { name: 'Soon gone' })).toBeVisible();
      await expect(page.getByRole('dialog')).toHaveCount(0, { timeout: 15_000 });
    }),
  );
  for (const id of ids) {
    for (const caller of callers) await expect.poll(async () => (await caller.status(id)).body.state).toBe('timed_out');
    await expect
      .poll(() => deliveries.filter((d) => d.interactionId === id && d.type === 'engagement.timed_out').length)
      .toBe(1);
  }
  // Nothing left to send: no second timeout event is on its way.
  await expect.poll(webhookBacklog).toBe(0);
  for (const id of ids) {
    expect(deliveries.filter((d) => d.interactionId === id && d.type === 'engagement.timed_out')).toHaveLength(1);
  }
  await Promise.all(contexts.map((context) => context.close()));
});

test('two backends sending webhooks deliver every event id exactly once, signed', async () => {
  await expect.poll(webhookBacklog, { timeout: 20_000 }).toBe(0);
  expect(deliveries.length).toBeGreaterThan(20);
  const counts = new Map<string, number>();
  for (const delivery of deliveries) counts.set(delivery.id, (counts.get(delivery.id) ?? 0) + 1);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  expect(deliveries.every((d) => d.signed)).toBe(true);
  // Every kind of event so far reached the receiver.
  const types = new Set(deliveries.map((d) => d.type));
  for (const type of [
    'engagement.pending',
    'engagement.delivered',
    'engagement.accepted',
    'engagement.cancelled',
    'engagement.timed_out',
  ]) {
    expect(types).toContain(type);
  }
});

test('a Redis restart mid-run (kill -9, same port and AOF): every acknowledged engage shows on its open page without a reload, once', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const contexts = await Promise.all([newContext(browser), newContext(browser), newContext(browser)]);
  // The socket.io frames each page receives: proof that the offers on screen were sent again.
  const startFrames: string[][] = [[], [], []];
  const pages = await Promise.all(
    contexts.map(async (context, i) => {
      const page = await context.newPage();
      page.on('websocket', (socket) =>
        socket.on('framereceived', ({ payload }) => {
          if (typeof payload === 'string' && payload.includes('"invitation:start"')) startFrames[i]!.push(payload);
        }),
      );
      await page.goto('/');
      return page;
    }),
  );
  const onScreen = pages[0]!;
  const visits = await Promise.all(pages.map(async (page) => (await visitorIds(page)).visitId));
  const ids = ['cluster-redis-shown', 'cluster-redis-before', 'cluster-redis-after'].map((label) =>
    newInteractionId(label),
  );
  const titles = ['On screen through Redis', 'Engaged as Redis dies', 'Engaged as Redis returns'];

  // One invitation on screen (and acknowledged) before Redis dies.
  expect(
    (
      await callers[0]!.engage({
        interactionId: ids[0],
        visitId: visits[0],
        timeoutSeconds: 120,
        invitation: { title: titles[0] },
      })
    ).status,
  ).toBe(200);
  await expect(onScreen.getByRole('dialog', { name: titles[0] })).toBeVisible();
  await expect.poll(async () => (await callers[1]!.status(ids[0]!)).body.state).toBe('delivered');
  const announced = await onScreen.locator('beckon-invite').getByRole('status').textContent();
  expect(announced).toContain(titles[0]);
  // One acknowledged just before Redis dies: its start may be on its way through the adapter.
  expect(
    (
      await callers[1]!.engage({
        interactionId: ids[1],
        visitId: visits[1],
        timeoutSeconds: 120,
        invitation: { title: titles[1] },
      })
    ).status,
  ).toBe(200);
  await redis.stop('SIGKILL');
  await redis.restart();
  // One acknowledged as soon as a backend can store it again, while the nodes' connections come back.
  await expect
    .poll(
      async () =>
        (
          await callers[0]!.engage({
            interactionId: ids[2],
            visitId: visits[2],
            timeoutSeconds: 120,
            invitation: { title: titles[2] },
          })
        ).status,
      {
        timeout: 15_000,
        intervals: [100],
      },
    )
    .toBe(200);

  for (const id of ids) {
    for (const caller of callers) {
      await expect.poll(async () => (await caller.status(id)).status, { timeout: 15_000 }).toBe(200);
      expect(['pending', 'delivered']).toContain((await caller.status(id)).body.state);
    }
  }
  // No reload, no navigation: each open page shows its invitation, resent from the store if it was lost.
  for (const [i, page] of pages.entries()) {
    await expect(page.getByRole('dialog', { name: titles[i]! })).toBeVisible({ timeout: 20_000 });
  }
  // The frontend resent the invitation already on screen; the widget took the repeat for what it is:
  // no second beckon:invite, no second announcement, the same card.
  await expect
    .poll(() => startFrames[0]!.filter((frame) => frame.includes(ids[0]!)).length, { timeout: 20_000 })
    .toBeGreaterThanOrEqual(2);
  for (const [i, page] of pages.entries()) expect(await invitesOn(page, ids[i]!)).toHaveLength(1);
  expect(await onScreen.locator('beckon-invite').getByRole('status').textContent()).toBe(announced);
  // Each answer reaches both backends.
  for (const [i, page] of pages.entries()) {
    await page.getByRole('dialog', { name: titles[i]! }).getByRole('button', { name: 'Chat now' }).click();
    for (const caller of callers) {
      await expect.poll(async () => (await caller.status(ids[i]!)).body.state, { timeout: 15_000 }).toBe('accepted');
    }
  }
  await Promise.all(contexts.map((context) => context.close()));
});

test('kill -9 of the frontend holding a shown invitation: it comes back, with its time left', async ({ browser }) => {
  test.setTimeout(75_000);
  const context = await newContext(browser);
  const { tabs, holders } = await tabsOnBothFrontends(context);
  const [shows, other] = tabs;
  await reportBackground(other, callers[0]!);
  await shows.evaluate(() => window.dispatchEvent(new Event('focus')));
  const { visitId } = await visitorIds(shows);
  const id = newInteractionId('cluster-kill');
  const engagedAt = Date.now();
  await callers[0]!.engage({
    interactionId: id,
    visitId,
    timeoutSeconds: 90,
    invitation: { title: 'Outlives its frontend' },
  });
  await expect(shows.getByRole('dialog', { name: 'Outlives its frontend' })).toBeVisible();
  await expect.poll(async () => (await callers[1]!.status(id)).body.state).toBe('delivered');
  const before = (await callers[0]!.status(id)).body;
  const invitesBefore = (await invitesOn(shows, id)).length + (await invitesOn(other, id)).length;

  const doomed = frontends[holders[0]]!;
  const killedAt = Date.now();
  await doomed.stop('SIGKILL');

  // Within 30 s both tabs are connected through the surviving frontend, and the invitation is shown
  // on an open page of the visit: the surviving tab, or the page that reconnected through nginx
  // (then it never left the screen). Either way with the time it had left: same timeoutAt.
  const survivor = 1 - holders[0];
  await expect.poll(socketsPerFrontend, { timeout: 30_000 }).toEqual(survivor === 0 ? [2, 0] : [0, 2]);
  const pageIds = [(await visitorIds(shows)).pageId, (await visitorIds(other)).pageId];
  await expect
    .poll(
      async () => {
        const status = (await callers[1]!.status(id)).body;
        const open = await callers[1]!.openPages(visitId);
        return {
          state: status.state,
          timeoutAt: status.timeoutAt,
          shownOnOpenPage: open.includes(status.shownPageId),
          open: open.sort(),
        };
      },
      { timeout: 30_000 },
    )
    .toEqual({ state: 'delivered', timeoutAt: before.timeoutAt, shownOnOpenPage: true, open: [...pageIds].sort() });
  expect(Date.now() - killedAt).toBeLessThan(30_000);
  const { shownPageId } = (await callers[0]!.status(id)).body;
  const holder = pageIds[0] === shownPageId ? shows : other;
  const dialog = holder.getByRole('dialog', { name: 'Outlives its frontend' });
  await expect(dialog).toBeVisible();
  await expect(holder === shows ? other.getByRole('dialog') : shows.getByRole('dialog')).toHaveCount(0);
  // An offer made again after the kill carries the time left, not a fresh 90 s.
  for (const offer of [...(await invitesOn(shows, id)), ...(await invitesOn(other, id))].slice(invitesBefore)) {
    expect(offer.remainingMs).toBeLessThanOrEqual(90_000 - (killedAt - engagedAt));
  }
  // The page answers through the survivor, and both backends see it.
  await dialog.getByRole('button', { name: 'Chat now' }).click();
  for (const caller of callers) await expect.poll(async () => (await caller.status(id)).body.state).toBe('accepted');
  await context.close();
});

test('kill -9 of the frontend holding a shown invitation while its tab cannot reconnect: the visit’s other tab gets it within 30 s, with its time left', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  // The frontend the test above killed comes back on its port (same node id: a new boot), so that
  // nginx again spreads tabs over two frontends.
  for (const [i, node] of frontends.entries()) {
    if (node.child.exitCode !== null || node.child.signalCode !== null)
      frontends[i] = await startClusterNode(node.name, 'frontend', node.port);
  }
  const context = await newContext(browser);
  // The tabs' sockets pass through Playwright, which can refuse new ones (a route set on a page after it
  // loaded would not apply to it).
  let cutOff = false;
  await context.routeWebSocket(/\/socket\.io\//, (socket) => (cutOff ? socket.close() : socket.connectToServer()));
  const { tabs, holders } = await tabsOnBothFrontends(context);
  const [shows, other] = tabs;
  await reportBackground(other, callers[0]!);
  await shows.evaluate(() => window.dispatchEvent(new Event('focus')));
  const { visitId } = await visitorIds(shows);
  const pageIds = [(await visitorIds(shows)).pageId, (await visitorIds(other)).pageId];
  const id = newInteractionId('cluster-kill-stranded');
  const title = 'Moves when its tab is cut off';
  const engagedAt = Date.now();
  await callers[0]!.engage({ interactionId: id, visitId, timeoutSeconds: 90, invitation: { title } });
  await expect(shows.getByRole('dialog', { name: title })).toBeVisible();
  await expect.poll(async () => (await callers[1]!.status(id)).body.state).toBe('delivered');
  const before = (await callers[0]!.status(id)).body;
  // From now on no tab of the visit can open a socket: the one that shows it loses its socket with its
  // frontend and cannot come back (a visitor whose network went too), and nothing tells a node it left.
  // The other tab keeps the socket it has on the surviving frontend.
  cutOff = true;

  const killedAt = Date.now();
  await frontends[holders[0]]!.stop('SIGKILL');

  // The surviving nodes find the dead frontend's registration run out (15 s), close its pages, and the
  // invitation moves to the visit's other tab with the time it had left, within 30 s (docs/lifecycle.md).
  const dialog = other.getByRole('dialog', { name: title });
  await expect(dialog).toBeVisible({ timeout: 30_000 });
  expect(Date.now() - killedAt).toBeLessThan(30_000);
  const moved = (await callers[1]!.status(id)).body;
  expect(moved).toMatchObject({ state: 'delivered', shownPageId: pageIds[1], timeoutAt: before.timeoutAt });
  expect(await callers[1]!.openPages(visitId)).toEqual([pageIds[1]]);
  const offers = await invitesOn(other, id);
  expect(offers).toHaveLength(1);
  expect(offers[0]!.remainingMs).toBeLessThanOrEqual(90_000 - (killedAt - engagedAt));
  // Its answer goes through the survivor, and both backends see it.
  await dialog.getByRole('button', { name: 'Chat now' }).click();
  for (const caller of callers) await expect.poll(async () => (await caller.status(id)).body.state).toBe('accepted');
  await context.close();
});
