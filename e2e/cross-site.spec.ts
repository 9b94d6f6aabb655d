/**
 * Attacks that ride the operator's own browser (docs/security.md), in a real
 * Chromium: a page on another host name auto-submits a plain HTML form to
 * Beckon (a simple request: no preflight), with and without cached Basic
 * credentials; a page on a DNS-rebinding domain reads the API and opens a
 * socket. Each checks the store, not only the status. Then the legitimate
 * browser paths: the widget on an allowed site, and the console on another
 * loopback name.
 *
 * Sites are told apart by name: Beckon is addressed as 127.0.0.1, the
 * attacking and embedding sites as localhost (another site, another origin).
 * `rebound.example` resolves to 127.0.0.1 through Chromium's host resolver
 * rules, which is what DNS rebinding achieves. Chromium's Local Network
 * Access checks are off for this file, so that the requests reach Beckon as
 * they would from a browser without them (Firefox, Safari, older Chromium):
 * Beckon must refuse them itself.
 */
import { createServer, type Server } from 'node:http';
import { chromiumLaunchOptions } from '../test/chromium.js';
import { callerFor, expect, newInteractionId, startBeckonProcess, test, visitorIds } from './fixtures.js';

test.use({
  launchOptions: chromiumLaunchOptions([
    '--disable-features=LocalNetworkAccessChecks',
    '--host-resolver-rules=MAP rebound.example 127.0.0.1',
  ]),
});

const INVITATION = { title: 'Can we help with your order?', message: 'An advisor is free now.' };

/** A website of someone else's, on 127.0.0.1, addressed as http://localhost:<port>. */
interface Site {
  origin: string;
  /** Serves `html` at `path` from now on. */
  page(path: string, html: string): string;
  close(): Promise<void>;
}

async function startSite(): Promise<Site> {
  const pages = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const html = pages.get(new URL(request.url ?? '/', 'http://x').pathname);
    if (html === undefined) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const origin = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    origin,
    page(path, html) {
      pages.set(path, html);
      return origin + path;
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

const attr = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** A page that posts a plain form to `action` as soon as it loads, as an attacker's page would. */
function autoSubmittingForm(action: string, name: string, value: unknown): string {
  return `<!doctype html><title>Cute cats</title>
<form method="post" action="${attr(action)}" enctype="application/x-www-form-urlencoded">
<input type="hidden" name="${name}" value="${attr(JSON.stringify(value))}"></form>
<script>document.forms[0].submit()</script>`;
}

/** Opens the attacking page in the operator's browser; resolves with what Beckon answered the form. */
async function submitFrom(operator: import('@playwright/test').BrowserContext, url: string): Promise<any> {
  const page = await operator.newPage();
  await page.goto(url);
  await page.waitForURL((u) => u.pathname.endsWith('engage'));
  await page.waitForLoadState();
  const answer = JSON.parse(await page.locator('body').innerText());
  await page.close();
  return answer;
}

let site: Site;
test.beforeAll(async () => {
  site = await startSite();
});
test.afterAll(async () => {
  await site.close();
});

test('a form on another site cannot cancel an invitation on screen', async ({
  page: shop,
  browser,
  beckon,
  caller,
}) => {
  await shop.goto('/products.html');
  const { visitId } = await visitorIds(shop);
  const id = newInteractionId('cross-site-cancel');
  expect((await caller.engage({ interactionId: id, visitId, invitation: INVITATION })).status).toBe(200);
  const dialog = shop.getByRole('dialog', { name: INVITATION.title });
  await expect(dialog).toBeVisible();
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');

  const operator = await browser.newContext();
  const url = site.page(
    '/cancel.html',
    autoSubmittingForm(`${beckon.url}/backend/data/gateway/noengage`, 'cancelData', { interactionId: id }),
  );
  expect(await submitFrom(operator, url)).toMatchObject({ status: 'FAULT', code: 'CROSS_SITE_REQUEST' });
  await operator.close();

  // Nothing changed: the attempt is still on screen, and no withdrawal reached the page.
  expect((await caller.status(id)).body.state).toBe('delivered');
  await expect(dialog).toBeVisible();
  await caller.noengage({ interactionId: id });
  await expect(dialog).toBeHidden();
});

test('a form on another site cannot start an invitation', async ({ page: shop, browser, beckon, caller }) => {
  await shop.goto('/');
  const { visitId } = await visitorIds(shop);
  const id = newInteractionId('cross-site-engage');
  const operator = await browser.newContext();
  const url = site.page(
    '/engage.html',
    autoSubmittingForm(`${beckon.url}/server/data/gateway/engage`, 'ixnProfile', {
      interactionID: id,
      visitID: visitId,
      invitation: INVITATION,
    }),
  );
  expect(await submitFrom(operator, url)).toMatchObject({ status: 'FAULT', code: 'CROSS_SITE_REQUEST' });
  await operator.close();

  expect((await caller.status(id)).status).toBe(404);
  await expect(shop.getByRole('dialog')).toHaveCount(0);
});

test('with a token, a browser is never asked for Basic credentials, and forms carrying cached ones are refused all the same', async ({
  browser,
}) => {
  const token = 'cached-basic-token-71c2';
  const beckon = await startBeckonProcess({ BECKON_API_TOKEN: token });
  const bearer = { authorization: `Bearer ${token}` };
  try {
    const visitorContext = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitorContext.newPage();
    await shop.goto('/');
    const { visitId } = await visitorIds(shop);
    const id = newInteractionId('cached-basic');
    const engage = await fetch(`${beckon.url}/backend/data/gateway/engage`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ ixnProfile: { interactionId: id, visitId, invitation: INVITATION } }),
    });
    expect(engage.status).toBe(200);
    const dialog = shop.getByRole('dialog', { name: INVITATION.title });
    await expect(dialog).toBeVisible();

    // A browser that would answer a Basic challenge with the token (as a person at the prompt would)
    // opens an API URL: the 401 does not invite Basic, so it offers nothing and reads nothing.
    const willing = await browser.newContext({
      httpCredentials: { username: 'operator', password: token, origin: beckon.url },
    });
    const direct = await willing.newPage();
    const response = await direct.goto(`${beckon.url}/backend/data/visits`);
    expect(response?.status()).toBe(401);
    expect(response?.headers()['www-authenticate']).toBe('Bearer realm="beckon"');
    expect(await response?.request().headerValue('authorization')).toBeNull();
    expect(await direct.locator('body').innerText()).not.toContain(visitId);
    await willing.close();

    // A browser that did cache Basic credentials for Beckon sends them with every request there,
    // a form another site posts included.
    const cached = `Basic ${Buffer.from(`operator:${token}`).toString('base64')}`;
    const operator = await browser.newContext({ extraHTTPHeaders: { authorization: cached } });
    const url = site.page(
      '/cancel-basic.html',
      autoSubmittingForm(`${beckon.url}/backend/data/gateway/noengage`, 'cancelData', { interactionId: id }),
    );
    expect(await submitFrom(operator, url)).toMatchObject({ status: 'FAULT', code: 'CROSS_SITE_REQUEST' });
    await operator.close();

    const status = await fetch(`${beckon.url}/backend/data/gateway/engagements/${id}`, { headers: bearer });
    expect((await status.json()).state).toBe('delivered');
    await expect(dialog).toBeVisible();
    await visitorContext.close();
  } finally {
    await beckon.stop();
  }
});

test('a page on a DNS-rebinding domain can neither read the visits nor open a visitor socket', async ({
  page: shop,
  browser,
  beckon,
}) => {
  await shop.goto('/products.html');
  const { visitId } = await visitorIds(shop);

  const operator = await browser.newContext();
  const rebound = await operator.newPage();
  // The attacker's page, now answered by Beckon: same origin as Beckon's answers, as far as the browser knows.
  await rebound.goto(`http://rebound.example:${beckon.port}/`);
  const read = await rebound.evaluate(async () => {
    const response = await fetch('/backend/data/visits');
    return { status: response.status, text: await response.text() };
  });
  expect(read.status).toBe(421);
  expect(JSON.parse(read.text)).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
  expect(read.text).not.toContain(visitId);

  const socket = await rebound.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/socket.io/?EIO=4&transport=websocket`);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onerror = () => resolve('refused');
      }),
  );
  expect(socket).toBe('refused');
  // The shop's own widget on the rebound page never got a visit either.
  await expect(rebound.getByText('Beckon is not connected; the shop works without it.')).toBeVisible({
    timeout: 15_000,
  });
  const visits = await (await fetch(`${beckon.url}/backend/data/visits`)).text();
  expect(visits).toContain(visitId);
  expect(visits).not.toContain('rebound.example');
  await operator.close();
});

test('the widget on an allowed site shows invitations, but that site cannot call the REST API', async ({ browser }) => {
  const shopSite = await startSite();
  const beckon = await startBeckonProcess({ BECKON_ALLOWED_ORIGINS: shopSite.origin });
  const caller = callerFor(beckon.url);
  try {
    const url = shopSite.page(
      '/shop.html',
      `<!doctype html><html lang="en"><title>Another shop</title><h1>Another shop</h1>
<script async src="${beckon.url}/widget/beckon.js"></script>`,
    );
    const context = await browser.newContext();
    const shop = await context.newPage();
    await shop.goto(url);
    const { visitId } = await visitorIds(shop);
    const id = newInteractionId('allowed-site');
    expect((await caller.engage({ interactionId: id, visitId, invitation: INVITATION })).status).toBe(200);
    const dialog = shop.getByRole('dialog', { name: INVITATION.title });
    await dialog.getByRole('button', { name: 'Chat now' }).click();
    await expect.poll(async () => (await caller.status(id)).body.state).toBe('accepted');

    // The same site's script posts to the API (no-cors: a simple request the browser sends anyway; the
    // answer is then withheld from the script, by Cross-Origin-Resource-Policy, once it has arrived).
    const other = newInteractionId('allowed-site-post');
    await shop.evaluate(
      async ({ api, body }) => {
        await fetch(`${api}/backend/data/gateway/engage`, {
          method: 'POST',
          mode: 'no-cors',
          body: new URLSearchParams(body),
        }).catch(() => undefined);
      },
      { api: beckon.url, body: { ixnProfile: JSON.stringify({ interactionId: other, visitId }) } },
    );
    expect((await caller.status(other)).status).toBe(404);
    await context.close();
  } finally {
    await beckon.stop();
    await shopSite.close();
  }
});

test('the console works on another name Beckon answers to (localhost for a server on 127.0.0.1)', async ({
  page: shop,
  browser,
  beckon,
}) => {
  await shop.goto('/');
  const { visitId } = await visitorIds(shop);
  const context = await browser.newContext({ baseURL: `http://localhost:${beckon.port}` });
  const console = await context.newPage();
  await console.goto('/console/');
  const visit = console.getByRole('article', { name: `Visit ${visitId}` });
  await visit.getByText('Invite this visitor').click();
  await visit.getByLabel('Title').fill('Hello from localhost');
  await visit.getByRole('button', { name: 'Send invitation' }).click();
  const dialog = shop.getByRole('dialog', { name: 'Hello from localhost' });
  await expect(dialog).toBeVisible();
  const attempt = console.getByRole('article', { name: 'Hello from localhost' });
  await expect(attempt.locator('.state')).toHaveText('delivered');
  await attempt.getByRole('button', { name: 'Cancel invitation' }).click();
  await expect(dialog).toBeHidden();
  await expect(attempt.locator('.state')).toHaveText('cancelled');
  await context.close();
});
