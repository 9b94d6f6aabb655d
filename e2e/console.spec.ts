/**
 * What a person does on a fresh install: open the shop, find the visit in the
 * console, invite it from there, answer on the shop page, and watch the
 * console report the outcome.
 */
import { expect, test, visitorIds } from './fixtures.js';

test('a person invites a visitor from the console and sees the outcome', async ({ page: shop, browser, baseURL }) => {
  await shop.goto('/products.html');
  const { visitId } = await visitorIds(shop);

  const consoleContext = await browser.newContext({ baseURL: baseURL! });
  const console = await consoleContext.newPage();
  const requests: string[] = [];
  console.on('request', (request) => requests.push(new URL(request.url()).pathname));
  await console.goto('/console');
  const visit = console.getByRole('article', { name: `Visit ${visitId}` });
  await expect(visit).toBeVisible();
  await expect(visit.getByText(/\/products\.html/)).toBeVisible();

  // Live updates come from the event stream: with nothing happening, nothing is fetched again.
  expect(requests).toContain('/backend/data/events');
  const settled = requests.length;
  await console.waitForTimeout(2500);
  expect(requests.slice(settled)).toEqual([]);

  await visit.getByText('Invite this visitor').click();
  await visit.getByLabel('Title').fill('Looking for a pack?');
  await visit.getByLabel('Message').fill('Our outfitters can help you pick.');
  await visit.getByLabel('Callback').check();
  await visit.getByLabel('Timeout (seconds)').fill('60');
  await visit.getByRole('button', { name: 'Send invitation' }).click();

  const attempt = console.getByRole('article', { name: 'Looking for a pack?' });
  await expect(attempt).toBeVisible();

  const dialog = shop.getByRole('dialog', { name: 'Looking for a pack?' });
  await expect(dialog.getByText('Our outfitters can help you pick.')).toBeVisible();
  await expect(attempt.locator('.state')).toHaveText('delivered');

  await dialog.getByRole('button', { name: 'Call me back' }).click();
  await expect(dialog).toBeHidden();
  await expect(attempt.locator('.state')).toHaveText('accepted');
  // The chosen channel, as the console shows it.
  await expect(attempt.locator('strong', { hasText: 'callback' })).toBeVisible();
  // The timeline carries what each event said: where it was shown, which channel was chosen.
  await expect(attempt.locator('.timeline .step-delivered')).toContainText('on page');
  await expect(attempt.locator('.timeline .step-accepted')).toContainText('channel callback');
  await consoleContext.close();
});

test('a person cancels an invitation from the console and it leaves the page', async ({
  page: shop,
  browser,
  baseURL,
}) => {
  await shop.goto('/');
  const { visitId } = await visitorIds(shop);
  const consoleContext = await browser.newContext({ baseURL: baseURL! });
  const console = await consoleContext.newPage();
  await console.goto('/console/');
  const visit = console.getByRole('article', { name: `Visit ${visitId}` });
  await visit.getByText('Invite this visitor').click();
  await visit.getByLabel('Title').fill('Free shipping today');
  await visit.getByRole('button', { name: 'Send invitation' }).click();

  const dialog = shop.getByRole('dialog', { name: 'Free shipping today' });
  await expect(dialog).toBeVisible();
  const attempt = console.getByRole('article', { name: 'Free shipping today' });
  await attempt.getByRole('button', { name: 'Cancel invitation' }).click();
  await expect(dialog).toBeHidden();
  await expect(attempt.locator('.state')).toHaveText('cancelled');
  await consoleContext.close();
});
