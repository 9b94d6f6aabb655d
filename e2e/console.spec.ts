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

test('the visit list follows events without disturbing a person filling in the invite form', async ({
  page: shop,
  browser,
  baseURL,
}) => {
  await shop.goto('/products.html');
  const { visitId, pageId } = await visitorIds(shop);
  const consoleContext = await browser.newContext({ baseURL: baseURL! });
  const console = await consoleContext.newPage();
  await console.goto('/console/');
  const visit = console.getByRole('article', { name: `Visit ${visitId}` });
  await visit.getByText('Invite this visitor').click();
  await visit.getByLabel('Target page').selectOption(pageId);
  await visit.getByLabel('Title').fill('Half typed');
  await expect(visit.getByLabel('Title')).toBeFocused();

  // Another tab of the same visit: its event redraws the visit while the form is in use.
  const second = await shop.context().newPage();
  await second.goto('/help.html');
  await expect(visit.getByRole('list', { name: 'Open pages' }).getByRole('listitem')).toHaveCount(2);
  await expect(visit.locator('details')).toHaveAttribute('open', '');
  await expect(visit.getByLabel('Title')).toBeFocused();
  await expect(visit.getByLabel('Title')).toHaveValue('Half typed');
  await expect(visit.getByLabel('Target page')).toHaveValue(pageId);
  // An empty fault box takes no room in the form.
  await expect(visit.locator('.invite .fault')).toBeHidden();

  await visit.getByRole('button', { name: 'Send invitation' }).click();
  await expect(shop.getByRole('dialog', { name: 'Half typed' })).toBeVisible();
  await expect(visit.locator('.flag-shown')).toHaveCount(1);
  // A settled attempt has nothing to cancel: focus stays on its card rather than falling to the page.
  const attempt = console.getByRole('article', { name: 'Half typed' });
  await attempt.getByRole('button', { name: 'Cancel invitation' }).click();
  await expect(attempt.locator('.state')).toHaveText('cancelled');
  await expect(attempt.getByRole('button', { name: 'Cancel invitation' })).toBeHidden();
  await expect(attempt.getByRole('heading', { name: 'Half typed' })).toBeFocused();
  await consoleContext.close();
});

test('the console shows who a visitor is and what they just did, as the page tells it', async ({
  page: shop,
  browser,
  baseURL,
}) => {
  await shop.goto('/products.html');
  const { visitId } = await visitorIds(shop);
  const consoleContext = await browser.newContext({ baseURL: baseURL! });
  const console = await consoleContext.newPage();
  await console.goto('/console/');
  const visit = console.getByRole('article', { name: `Visit ${visitId}` });
  await expect(visit).toBeVisible();
  await expect(visit.locator('.identity')).toHaveCount(0);

  // No BECKON_IDENTITY_SECRET on this server: the sign-in is kept, not verified.
  await shop.evaluate(async () => {
    const beckon = (window as any).Beckon;
    await beckon.track('ViewedPack', { sku: 'ember-1' });
    await beckon.track('AddToCart', { sku: 'ember-1', cartTotal: 120 });
    await beckon.signIn('c-42', { tier: 'gold' });
  });
  await expect(visit.locator('.identity')).toContainText('Visitor: c-42');
  await expect(visit.locator('.identity')).toContainText('not verified');
  await expect(visit.locator('.identity')).toContainText('tier=gold');
  const events = visit.getByRole('region', { name: 'Latest business events' }).getByRole('listitem');
  await expect(events).toHaveCount(2);
  await expect(events.first()).toContainText('AddToCart');
  await expect(events.first()).toContainText('cartTotal=120');
  await expect(events.nth(1)).toContainText('ViewedPack');
  await consoleContext.close();
});
