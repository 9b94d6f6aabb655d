/**
 * The lifecycle under the conditions real visitors create (docs/lifecycle.md,
 * "Tabs and navigation"): several tabs of one browser, navigation in the
 * middle of an invitation, tabs closing, the network dropping, pages opening
 * late.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { invitesOn, recordInvites } from './invites.js';
import { expect, newInteractionId, reportBackground, test, visitorIds, type Caller } from './fixtures.js';

async function openShop(context: BrowserContext, path = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  await visitorIds(page);
  return page;
}

/**
 * Closes the visit's only tab and waits until Beckon has seen it go: until
 * then the server may still place an invitation on it, and a closing tab can
 * even show it and say so, which is then a shown invitation whose page closed.
 */
async function closeLastTab(page: Page, caller: Caller, visitId: string): Promise<void> {
  await page.close();
  await expect.poll(() => caller.openPages(visitId)).toEqual([]);
}

async function stateOf(caller: Caller, id: string): Promise<string> {
  return (await caller.status(id)).body.state;
}

/** Number of pages that show an invitation dialog right now. */
async function showing(pages: Page[]): Promise<number> {
  let count = 0;
  for (const page of pages) if (!page.isClosed()) count += await page.getByRole('dialog').count();
  return count;
}

test('an invitation shows in exactly one tab, and leaves every tab when it settles', async ({ context, caller }) => {
  const first = await openShop(context, '/');
  const second = await openShop(context, '/products.html');
  const third = await openShop(context, '/help.html');
  const tabs = [first, second, third];
  const { visitId } = await visitorIds(first);
  expect((await visitorIds(third)).visitId).toBe(visitId);

  // The tab the visitor looks at is the one that shows it. Headless Chromium reports every tab as
  // visible and focused, so the others are made to report what a background tab reports.
  for (const background of [first, third]) await reportBackground(background, caller);
  await second.evaluate(() => window.dispatchEvent(new Event('focus')));
  const id = newInteractionId('one-tab');
  await caller.engage({ interactionId: id, visitId, invitation: { title: 'One tab only' } });
  await expect(second.getByRole('dialog', { name: 'One tab only' })).toBeVisible();
  await expect.poll(() => stateOf(caller, id)).toBe('delivered');
  expect(await showing(tabs)).toBe(1);

  await second.getByRole('button', { name: 'Chat now' }).click();
  await expect.poll(() => stateOf(caller, id)).toBe('accepted');
  expect(await showing(tabs)).toBe(0);

  // A caller can name the tab: then that one shows it, whichever is in front.
  const named = newInteractionId('named-tab');
  const { pageId } = await visitorIds(third);
  await caller.engage({ interactionId: named, visitId, pageId, invitation: { title: 'This tab' } });
  await expect(third.getByRole('dialog', { name: 'This tab' })).toBeVisible();
  await expect.poll(() => stateOf(caller, named)).toBe('delivered');
  expect(await showing(tabs)).toBe(1);
  await caller.noengage({ interactionId: named });
  await expect(third.getByRole('dialog')).toHaveCount(0);
  expect(await showing(tabs)).toBe(0);
});

test('navigating mid-invitation keeps it, with its remaining time', async ({ context, caller }) => {
  await recordInvites(context);
  const page = await openShop(context, '/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('navigate');
  await caller.engage({ interactionId: id, visitId, timeoutSeconds: 60, invitation: { title: 'Still here?' } });
  await expect(page.getByRole('dialog', { name: 'Still here?' })).toBeVisible();
  await expect.poll(() => stateOf(caller, id)).toBe('delivered');
  const before = (await caller.status(id)).body;
  expect((await invitesOn(page))[0]!.remainingMs).toBe(60_000);

  await page.waitForTimeout(2_500);
  await page.getByRole('navigation').getByRole('link', { name: 'Help' }).click();
  await page.waitForURL('**/help.html');
  await expect(page.getByRole('dialog', { name: 'Still here?' })).toBeVisible();
  const [moved] = await invitesOn(page);
  expect(moved!.interactionId).toBe(id);
  // The clock kept running across the navigation: not restarted at 60 s.
  expect(moved!.remainingMs).toBeLessThanOrEqual(60_000 - 2_500);
  expect(moved!.remainingMs).toBeGreaterThan(30_000);
  const after = (await caller.status(id)).body;
  expect(after.timeoutAt).toBe(before.timeoutAt);
  expect(after.transitions.delivered).toBe(before.transitions.delivered);
  expect(after.shownPageId).not.toBe(before.shownPageId);

  await page.getByRole('button', { name: 'No thanks' }).click();
  await expect.poll(() => stateOf(caller, id)).toBe('declined');
});

test('closing the tab that shows it moves it to another open tab', async ({ context, caller }) => {
  await recordInvites(context);
  const stays = await openShop(context, '/products.html');
  const closes = await openShop(context, '/');
  await reportBackground(stays, caller);
  const { visitId } = await visitorIds(closes);
  const id = newInteractionId('close-tab');
  await caller.engage({ interactionId: id, visitId, timeoutSeconds: 60, invitation: { title: 'Follow me' } });
  await expect(closes.getByRole('dialog', { name: 'Follow me' })).toBeVisible();
  await expect.poll(() => stateOf(caller, id)).toBe('delivered');
  expect(await stays.getByRole('dialog').count()).toBe(0);

  await closes.close();
  await expect(stays.getByRole('dialog', { name: 'Follow me' })).toBeVisible();
  const [moved] = await invitesOn(stays);
  expect(moved!.remainingMs).toBeLessThan(60_000);
  expect(await stateOf(caller, id)).toBe('delivered');
  await stays.getByRole('button', { name: 'Chat now' }).click();
  await expect.poll(() => stateOf(caller, id)).toBe('accepted');
});

test('after the network drops, the page resynchronizes: cancelled stays gone, started appears', async ({
  context,
  caller,
}) => {
  const page = await openShop(context, '/');
  const { visitId } = await visitorIds(page);

  // Cancelled while offline: it must not come back.
  const cancelled = newInteractionId('offline-cancel');
  await caller.engage({ interactionId: cancelled, visitId, invitation: { title: 'Soon withdrawn' } });
  await expect(page.getByRole('dialog', { name: 'Soon withdrawn' })).toBeVisible();
  await expect.poll(() => stateOf(caller, cancelled)).toBe('delivered');
  await context.setOffline(true);
  await expect.poll(async () => (await caller.status(cancelled)).body.state).toBe('delivered');
  expect((await caller.noengage({ interactionId: cancelled })).body.state).toBe('cancelled');
  await context.setOffline(false);
  await expect(page.getByRole('dialog', { name: 'Soon withdrawn' })).toBeHidden();

  // Started while offline: it appears once the page is back.
  await context.setOffline(true);
  const started = newInteractionId('offline-start');
  expect(
    (await caller.engage({ interactionId: started, visitId, invitation: { title: 'While you were away' } })).status,
  ).toBe(200);
  await page.waitForTimeout(500);
  expect(await page.getByRole('dialog').count()).toBe(0);
  await context.setOffline(false);
  await expect(page.getByRole('dialog', { name: 'While you were away' })).toBeVisible();
  await expect.poll(() => stateOf(caller, started)).toBe('delivered');
});

test('an attempt for a visit with no open page waits, and shows when a page opens', async ({ context, caller }) => {
  const page = await openShop(context, '/');
  const { visitId } = await visitorIds(page);
  await closeLastTab(page, caller, visitId);
  const id = newInteractionId('pending');
  expect((await caller.engage({ interactionId: id, visitId, invitation: { title: 'Welcome back' } })).body.state).toBe(
    'pending',
  );
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await stateOf(caller, id)).toBe('pending');

  const later = await openShop(context, '/products.html');
  await expect(later.getByRole('dialog', { name: 'Welcome back' })).toBeVisible();
  await expect.poll(() => stateOf(caller, id)).toBe('delivered');
});

test('an attempt no page shows within expirationSeconds expires and is never shown', async ({ context, caller }) => {
  const page = await openShop(context, '/');
  const { visitId } = await visitorIds(page);
  await closeLastTab(page, caller, visitId);
  const id = newInteractionId('expire');
  await caller.engage({ interactionId: id, visitId, expirationSeconds: 10, invitation: { title: 'Too late' } });
  await expect.poll(() => stateOf(caller, id), { timeout: 15_000 }).toBe('expired');
  const later = await openShop(context, '/');
  await later.waitForTimeout(500);
  expect(await later.getByRole('dialog').count()).toBe(0);
});
