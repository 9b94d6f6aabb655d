/**
 * The widget on pages whose response a test changes: a strict CSP header the
 * server does not send yet, and a page whose widget points at a server that is
 * down. Both serve the document through Playwright (`route.fulfill`); such a
 * document has no IP address, so Chromium's Local Network Access checks count
 * it as public and refuse its WebSocket to 127.0.0.1, which no real site on a
 * real address meets. This file turns those checks off (a launch option, so
 * it is set for the whole file and its workers).
 */
import { callerFor, expect, newInteractionId, startBeckonProcess, test, visitorIds } from './fixtures.js';
import { chromiumLaunchOptions } from '../test/chromium.js';

const ENGLISH = { title: 'Can we help you choose?', message: 'An outfitter is online now.' };

test.use({
  launchOptions: chromiumLaunchOptions(['--disable-features=LocalNetworkAccessChecks']),
});

test('works under a strict Content-Security-Policy sent by the server, with no violation', async ({ page, caller }) => {
  const csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'";
  // Beckon sends no CSP header yet: add one to every document it serves.
  await page.route('**/*', async (route) => {
    if (route.request().resourceType() !== 'document') return route.continue();
    const response = await route.fetch();
    return route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': csp } });
  });
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto('/widget-strict-csp.html');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('csp');
  await caller.engage({ interactionId: id, visitId, channels: ['chat'], invitation: ENGLISH });
  const dialog = page.getByRole('dialog', { name: ENGLISH.title });
  await expect(dialog).toBeVisible();
  // Styled (constructed stylesheets are allowed): the card is fixed, not in the flow.
  expect(
    await page
      .locator('beckon-invite')
      .evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('[part~=card]')!).position),
  ).toBe('fixed');
  await dialog.getByRole('button', { name: 'Chat now' }).click();
  await expect(page.getByRole('region', { name: 'Chat with Beckon Outfitters' })).toBeVisible();
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('accepted');

  expect(await page.evaluate(() => (window as any).__violations)).toEqual([]);
  expect(problems).toEqual([]);
  // The policy is really enforced on this page: an inline style is refused and reported.
  await page.evaluate(() =>
    document.head.append(Object.assign(document.createElement('style'), { textContent: 'p{}' })),
  );
  await expect.poll(() => page.evaluate(() => (window as any).__violations.length)).toBeGreaterThan(0);
});

test('with its server down the page works as if Beckon were absent, and the widget connects when it returns', async ({
  page,
  beckon,
}) => {
  // A second Beckon, started once to find a free port, then stopped: the page's widget points at it.
  const probe = await startBeckonProcess();
  const port = new URL(probe.url).port;
  await probe.stop();

  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // The shop page is served by the running Beckon; only the widget's data-server is changed.
  await page.route('**/server-down.html', async (route) => {
    const response = await route.fetch({ url: `${beckon.url}/index.html` });
    const body = (await response.text()).replace(
      '<script async src="/widget/beckon.js"></script>',
      `<script async src="/widget/beckon.js" data-server="http://127.0.0.1:${port}"></script>`,
    );
    expect(body).toContain('data-server');
    // The shop's own CSP allows sockets to its own origin only; a site whose Beckon runs elsewhere lists
    // that host in connect-src. This test is about a server that is down, so the header is left out.
    const headers = { ...response.headers() };
    delete headers['content-security-policy'];
    return route.fulfill({ response, body, headers });
  });
  await page.goto('/server-down.html');
  await expect(page.getByText('Beckon is not connected; the shop works without it.')).toBeVisible({ timeout: 20_000 });
  // The shop still works: navigation, and the page API is there without throwing.
  expect(await page.evaluate(() => typeof window.Beckon?.getIDs)).toBe('function');
  await expect(page.getByRole('link', { name: 'Browse the gear' })).toBeVisible();
  expect(errors).toEqual([]);

  const ready = page.evaluate(
    () =>
      new Promise((resolve) =>
        window.addEventListener('beckon:ready', (e) => resolve((e as CustomEvent).detail), { once: true }),
      ),
  );
  const back = await startBeckonProcess({ PORT: port });
  try {
    const ids = (await ready) as { visitId: string };
    await expect(page.getByText('Connected to Beckon.')).toBeVisible();
    const caller = callerFor(back.url);
    await caller.engage({ interactionId: newInteractionId('back'), visitId: ids.visitId, invitation: ENGLISH });
    await expect(page.getByRole('dialog', { name: ENGLISH.title })).toBeVisible();
    expect(errors).toEqual([]);
  } finally {
    await back.stop();
  }
});
