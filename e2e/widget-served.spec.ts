/**
 * The widget on pages whose response a test changes: a strict CSP header the
 * server does not send yet, a page whose widget points at a server that is
 * down, and a page whose invitation card (the chunk `beckon-ui.js`) cannot be
 * loaded. Both serve the document through Playwright (`route.fulfill`); such a
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
    window.addEventListener('beckon:ready', () => ((window as any).__readyAt = performance.now()), { once: true });
  });
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(request.url());
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
  // The card is a chunk of its own, from beside the script on the same origin, asked for only once
  // the page was connected (when idle, or for the invitation), never while the page was loading.
  const origin = new URL(page.url()).origin;
  expect(scripts.filter((url) => url.includes('/widget/'))).toEqual([
    `${origin}/widget/beckon.js`,
    `${origin}/widget/beckon-ui.js`,
  ]);
  const chunkAsked = await page.evaluate(
    () =>
      performance.getEntriesByType('resource').find((e) => e.name.endsWith('/widget/beckon-ui.js'))?.startTime ?? -1,
  );
  expect(chunkAsked).toBeGreaterThanOrEqual(await page.evaluate(() => (window as any).__readyAt as number));

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

test('when the card cannot be loaded the page works on, and the invitation is never counted as shown', async ({
  page,
  caller,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const warnings: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'warning') warnings.push(message.text());
  });
  // A blocker or a broken proxy: every request for the chunk fails.
  await page.route('**/widget/beckon-ui.js*', (route) => route.abort());
  await page.addInitScript(() => {
    (window as any).__events = [];
    for (const type of ['beckon:invite', 'beckon:declined', 'beckon:timeout', 'beckon:withdrawn'])
      window.addEventListener(type, (e) =>
        (window as any).__events.push(`${type} ${(e as CustomEvent).detail.interactionId}`),
      );
  });
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('no-card');
  await caller.engage({ interactionId: id, visitId, invitation: ENGLISH, timeoutSeconds: 5 });
  await expect.poll(() => page.evaluate(() => (window as any).__events as string[])).toEqual([`beckon:invite ${id}`]);
  await expect.poll(() => warnings.some((text) => text.includes('the invitation could not be shown'))).toBe(true);
  // Longer than the invitation's own countdown: the page neither shows nor answers it.
  await page.waitForTimeout(6000);
  await expect(page.getByRole('dialog')).toHaveCount(0);
  expect((await caller.status(id)).body.state).toBe('pending');
  expect(await page.evaluate(() => (window as any).__events)).toEqual([`beckon:invite ${id}`]);
  // The page API still answers, and nothing was thrown.
  expect(await page.evaluate(() => window.Beckon!.getIDs().then((ids) => ids.visitId))).toBe(visitId);
  expect(errors).toEqual([]);
});

test('a script that runs while the page is parsed uses the element the site placed further down, and a page API call made before then answers through it', async ({
  page,
  caller,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // A classic script in the head runs while the rest of the page is still being parsed, every time (an
  // async one does only when it comes from the cache first); the site's own element comes after it.
  await page.route('**/late-element.html', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html lang="en"><head><title>Late element</title>
<script src="/widget/beckon.js"></script>
<script>window.__early = Beckon.getIDs().then((ids) => ids.visitId);</script>
</head><body><main><h1>Help</h1><beckon-invite></beckon-invite></main></body></html>`,
    }),
  );
  await page.goto('/late-element.html');
  const visitId = await page.evaluate(() => (window as unknown as { __early: Promise<string> }).__early);
  expect(visitId).toEqual(expect.any(String));
  await page.waitForLoadState('load');
  // One widget: the site's, in its place.
  await expect(page.locator('beckon-invite')).toHaveCount(1);
  await expect(page.locator('main > beckon-invite')).toHaveCount(1);
  await caller.engage({ interactionId: newInteractionId('late'), visitId, invitation: ENGLISH });
  await expect(page.getByRole('dialog', { name: ENGLISH.title })).toBeVisible();
  expect(await page.evaluate(() => window.Beckon!.getIDs().then((ids) => ids.visitId))).toBe(visitId);
  expect(errors).toEqual([]);
});
