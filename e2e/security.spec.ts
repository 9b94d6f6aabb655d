/**
 * Security as a person meets it in Chromium: the pages run under their strict
 * Content-Security-Policy (the widget included), the console asks for the API
 * token when one is set, and text a visitor controls is shown in the console
 * as text, never run.
 */
import { io } from 'socket.io-client';
import { expect, startBeckonProcess, test, visitorIds } from './fixtures.js';

test('the shop, the console and the docs page run under the strict CSP without a violation', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(error.message));

  const shop = await page.goto('/');
  expect(shop?.headers()['content-security-policy']).toContain("script-src 'self'");
  // The widget loaded, connected over its WebSocket (connect-src 'self') and got its ids.
  const { visitId } = await visitorIds(page);
  expect(visitId).toMatch(/^[A-Za-z0-9_-]{22}$/);

  await page.goto('/console/');
  await expect(page.getByRole('article', { name: `Visit ${visitId}` })).toBeVisible();

  await page.goto('/docs/');
  await expect(page.getByRole('article', { name: 'POST /backend/data/gateway/engage' })).toBeVisible();
  await expect(page.getByRole('article', { name: 'IxnProfile' })).toContainText('interactionId');

  expect(violations).toEqual([]);
});

test('the console asks for the API token, refuses a wrong one, and works with the right one', async ({ browser }) => {
  const token = 'console-token-3f8a';
  const beckon = await startBeckonProcess({ BECKON_API_TOKEN: token });
  try {
    const context = await browser.newContext({ baseURL: beckon.url });
    const shop = await context.newPage();
    await shop.goto('/');
    const { visitId } = await visitorIds(shop);

    const console = await context.newPage();
    await console.goto('/console/');
    const field = console.getByLabel('API token');
    await expect(field).toBeVisible();
    await expect(console.getByRole('article', { name: `Visit ${visitId}` })).toHaveCount(0);

    await field.fill('wrong-token');
    await console.getByRole('button', { name: 'Use token' }).click();
    await expect(console.getByText(/refused that token/)).toBeVisible();

    await field.fill(token);
    await console.getByRole('button', { name: 'Use token' }).click();
    await expect(console.getByRole('article', { name: `Visit ${visitId}` })).toBeVisible();
    await expect(field).toBeHidden();
    // Kept for this tab only: a reload does not ask again.
    await console.reload();
    await expect(console.getByRole('article', { name: `Visit ${visitId}` })).toBeVisible();
    await expect(console.getByLabel('API token')).toBeHidden();
    await context.close();
  } finally {
    await beckon.stop();
  }
});

test('a page title and url with markup show in the console as text and never run', async ({ page, beckon }) => {
  const title = '<img src=x onerror="window.__pwned=1">Cart';
  const url = 'https://shop.test/<script>window.__pwned=2</script>';
  // A hostile visitor: any page can describe itself however it likes.
  const visitor = io(beckon.url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: { page: { url, title, visible: true, focused: true } },
  });
  const session = await new Promise<{ visitId: string }>((resolve) => visitor.once('session', resolve));
  try {
    await page.goto('/console/');
    const visit = page.getByRole('article', { name: `Visit ${session.visitId}` });
    await expect(visit.getByText(title, { exact: true })).toBeVisible();
    await expect(visit.getByText(url, { exact: true })).toBeVisible();
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    expect(await page.locator('img[src="x"], article script').count()).toBe(0);
  } finally {
    visitor.close();
  }
});
