/**
 * The widget as a visitor and a site meet it, on the demo pages, against the
 * real Beckon process: accessibility (axe, keyboard only, reduced motion),
 * theming, a site's own UI through the page API, opt-out, a strict CSP,
 * a server that is down and comes back, and no layout shift.
 */
import { mkdirSync } from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page, TestInfo } from '@playwright/test';
import { expect, newInteractionId, test, visitorIds } from './fixtures.js';

const ENGLISH = { title: 'Can we help you choose?', message: 'An outfitter is online now.' };

/** Saves a screenshot where docs/testing.md says, and attaches it to the report. */
async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  const shot = await page.screenshot({ path: `test-results/${name}.png` });
  await testInfo.attach(name, { body: shot, contentType: 'image/png' });
}

async function axeViolations(page: Page): Promise<unknown[]> {
  // The widget only: the shop's own markup is not under test here.
  const results = await new AxeBuilder({ page }).include('beckon-invite').analyze();
  return results.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }));
}

test.describe('accessibility', () => {
  test('the default invitation has no axe violations', async ({ page, caller }, testInfo) => {
    await page.goto('/');
    const { visitId } = await visitorIds(page);
    await caller.engage({
      interactionId: newInteractionId('axe'),
      visitId,
      channels: ['chat', 'callback'],
      invitation: ENGLISH,
    });
    const dialog = page.getByRole('dialog', { name: ENGLISH.title });
    await expect(dialog).toBeVisible();
    await expect(dialog).toHaveAccessibleDescription(ENGLISH.message);
    expect(await axeViolations(page)).toEqual([]);
    await keepScreenshot(page, testInfo, 'invitation-default');
  });

  test('a keyboard user reaches the card, sees the focus ring and accepts; focus never moved by itself, and returns where it came from', async ({
    page,
    caller,
  }) => {
    await page.goto('/');
    const { visitId } = await visitorIds(page);
    await page.keyboard.press('Tab');
    const skipLink = page.getByRole('link', { name: 'Skip to content' });
    await expect(skipLink).toBeFocused();
    const id = newInteractionId('keys');
    await caller.engage({ interactionId: id, visitId, channels: ['chat'], invitation: ENGLISH });
    await expect(page.getByRole('dialog', { name: ENGLISH.title })).toBeVisible();
    await expect(skipLink).toBeFocused();

    const close = page.getByRole('button', { name: 'Close' });
    // The card is mounted at the end of <body>: Tab through the page to it, as a keyboard user would,
    // marking the page element each Tab leaves (the last one marked is where the card was entered from).
    const markFocused = () =>
      page.evaluate(() => {
        for (const marked of document.querySelectorAll('[data-left-by-tab]'))
          marked.removeAttribute('data-left-by-tab');
        document.activeElement?.setAttribute('data-left-by-tab', '');
      });
    for (let i = 0; i < 60 && !(await close.evaluate((el) => el.matches(':focus'))); i++) {
      await markFocused();
      await page.keyboard.press('Tab');
    }
    await expect(close).toBeFocused();
    const cameFrom = page.locator('[data-left-by-tab]');
    await expect(cameFrom).toHaveCount(1);
    await page.keyboard.press('Tab');
    const chat = page.getByRole('button', { name: 'Chat now' });
    await expect(chat).toBeFocused();
    expect(await chat.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('dialog')).toHaveCount(0);
    await expect.poll(async () => (await caller.status(id)).body).toMatchObject({ state: 'accepted', channel: 'chat' });
    // Not left on <body>: back on the page element the card was entered from.
    await expect(cameFrom).toBeFocused();
  });

  test('Escape declines when focus is inside the card', async ({ page, caller }) => {
    await page.goto('/');
    const { visitId } = await visitorIds(page);
    const id = newInteractionId('escape');
    await caller.engage({ interactionId: id, visitId });
    const decline = page.getByRole('button', { name: 'No thanks' });
    await expect(decline).toBeVisible();
    await page.keyboard.press('Tab');
    const skipLink = page.getByRole('link', { name: 'Skip to content' });
    await expect(skipLink).toBeFocused();
    await decline.focus();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toHaveCount(0);
    await expect.poll(async () => (await caller.status(id)).body.state).toBe('declined');
    await expect(skipLink).toBeFocused();
  });

  test('the card animates only when reduced motion is not requested', async ({ page, caller }) => {
    const animationOfCard = async () => {
      const { visitId } = await visitorIds(page);
      const id = newInteractionId('motion');
      await caller.engage({ interactionId: id, visitId });
      await expect(page.getByRole('dialog')).toBeVisible();
      const name = await page
        .locator('beckon-invite')
        .evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('[part~=card]')!).animationName);
      await page.getByRole('button', { name: 'No thanks' }).click();
      await expect(page.getByRole('dialog')).toHaveCount(0);
      return name;
    };
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto('/');
    expect(await animationOfCard()).toBe('none');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    await page.reload();
    expect(await animationOfCard()).not.toBe('none');
  });
});

test('the restyled demo invitation uses the theme and slots, with no axe violations', async ({
  page,
  caller,
}, testInfo) => {
  await page.goto('/widget-themed.html');
  const { visitId } = await visitorIds(page);
  await caller.engage({
    interactionId: newInteractionId('themed'),
    visitId,
    channels: ['chat', 'callback'],
    invitation: ENGLISH,
  });
  const dialog = page.getByRole('dialog', { name: ENGLISH.title });
  await expect(dialog).toBeVisible();
  await expect(page.getByText('Our outfitters answer from 8:00 to 20:00.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'How we handle your data' })).toBeVisible();
  const look = await page.locator('beckon-invite').evaluate((el) => {
    const card = getComputedStyle(el.shadowRoot!.querySelector('[part~=card]')!);
    const accept = getComputedStyle(el.shadowRoot!.querySelector('[part~=accept]')!);
    return {
      left: card.left,
      background: card.backgroundColor,
      accent: accept.backgroundColor,
      transform: accept.textTransform,
    };
  });
  expect(look).toEqual({
    left: '24px',
    background: 'rgb(254, 252, 232)',
    accent: 'rgb(20, 83, 45)',
    transform: 'uppercase',
  });
  expect(await axeViolations(page)).toEqual([]);
  await keepScreenshot(page, testInfo, 'invitation-themed');
});

test('position="inline" draws the invitation inside the page\'s help box, not in a corner', async ({
  page,
  caller,
}) => {
  await page.goto('/widget-inline.html');
  const { visitId } = await visitorIds(page);
  await caller.engage({ interactionId: newInteractionId('inline'), visitId, invitation: ENGLISH });
  const dialog = page.getByRole('dialog', { name: ENGLISH.title });
  await expect(dialog).toBeVisible();
  const box = (await page.locator('.inline-help').boundingBox())!;
  const card = (await dialog.boundingBox())!;
  // Inside the help box, in the page's flow: it scrolls with the page instead of being fixed to the window.
  expect(card.x).toBeGreaterThanOrEqual(box.x);
  expect(card.y).toBeGreaterThanOrEqual(box.y);
  expect(card.x + card.width).toBeLessThanOrEqual(box.x + box.width + 1);
  expect(card.y + card.height).toBeLessThanOrEqual(box.y + box.height + 1);
  expect(await page.locator('beckon-invite').count()).toBe(1);
  expect(await axeViolations(page)).toEqual([]);
});

test('a site draws its own invitation through the page API, and its chat panel opens on beckon:accepted', async ({
  page,
  caller,
}) => {
  await page.goto('/widget-custom-ui.html');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('own-ui');
  await caller.engage({
    interactionId: id,
    visitId,
    channels: ['chat', 'callback'],
    invitation: { title: 'Planning a trip?', message: 'Ask an outfitter.' },
    userData: { basket: 2 },
  });
  const banner = page.getByRole('region', { name: 'Planning a trip?' });
  await expect(banner).toBeVisible();
  await expect(banner.getByText('Ask an outfitter.')).toBeVisible();
  // The built-in card is never drawn, yet the server counts the invitation as shown.
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');
  await banner.getByRole('button', { name: 'Chat with an outfitter' }).click();
  const panel = page.getByRole('region', { name: 'Chat with Beckon Outfitters' });
  await expect(panel).toBeVisible();
  await expect(panel.getByText('Passed along: basket = 2')).toBeVisible();
  await expect(banner).toHaveCount(0);
  await expect.poll(async () => (await caller.status(id)).body).toMatchObject({ state: 'accepted', channel: 'chat' });
});

test('a visitor who opts out is never invited, on this page load or the next, until opting back in', async ({
  page,
  caller,
}) => {
  await page.goto('/widget-custom-ui.html');
  const { visitId } = await visitorIds(page);
  const optOut = page.getByRole('button', { name: 'Don’t invite me again' });
  await optOut.click();
  await expect(page.getByText('You chose not to receive invitations in this browser.')).toBeVisible();
  const refused = await caller.engage({ interactionId: newInteractionId('opted-out'), visitId });
  expect(refused.body).toMatchObject({ status: 'FAULT', code: 'VISITOR_OPTED_OUT' });

  await page.reload();
  await expect(page.getByText('You chose not to receive invitations in this browser.')).toBeVisible();
  await page.getByRole('button', { name: 'Invite me again' }).click();
  await expect(page.getByText('We may invite you to chat while you browse.')).toBeVisible();
  const again = await caller.engage({
    interactionId: newInteractionId('opted-in'),
    visitId: (await visitorIds(page)).visitId,
  });
  expect(again.body).toMatchObject({ status: 'OK' });
  await expect(page.getByRole('region', { name: 'Planning a trip?' })).toBeVisible();
});

test('the invitation causes no layout shift (CLS 0), drawn by the widget or by the site', async ({ page, caller }) => {
  await page.addInitScript(() => {
    (window as any).__shifts = [];
    new PerformanceObserver((list) => {
      // Name what moved, so that a failure says which element to fix.
      const describe = (node: Node | null) =>
        node instanceof Element
          ? `${node.localName}${node.id ? '#' + node.id : ''}${node.className ? '.' + String(node.className).trim().split(/\s+/).join('.') : ''}`
          : String(node?.nodeName);
      for (const entry of list.getEntries() as any[]) {
        (window as any).__shifts.push({
          value: entry.value,
          recent: entry.hadRecentInput,
          at: Math.round(entry.startTime),
          sources: (entry.sources ?? []).map(
            (s: any) => `${describe(s.node)} ${JSON.stringify(s.previousRect)} -> ${JSON.stringify(s.currentRect)}`,
          ),
        });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  for (const path of ['/', '/widget-custom-ui.html']) {
    await page.goto(path);
    const { visitId } = await visitorIds(page);
    const id = newInteractionId('cls');
    await caller.engage({ interactionId: id, visitId, invitation: { title: 'No shifting here' } });
    await expect(page.getByRole(path === '/' ? 'dialog' : 'region', { name: 'No shifting here' })).toBeVisible();
    await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');
    await caller.noengage({ interactionId: id });
    await expect(page.getByText('No shifting here')).toHaveCount(0);
    // Observers deliver after a frame: wait for one before reading.
    const shifts = await page.evaluate(
      () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => resolve((window as any).__shifts)))),
    );
    expect(shifts, path).toEqual([]);
  }
});

test('the built-in words follow the profile locale', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  await caller.engage({
    interactionId: newInteractionId('fr'),
    visitId,
    channels: ['chat', 'callback'],
    invitation: { locale: 'fr-CA' },
  });
  const dialog = page.getByRole('dialog', { name: 'Pouvons-nous vous aider ?' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Discuter' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Être rappelé' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Non merci' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Fermer' })).toBeVisible();
});

test.describe('the connection waits for the page', () => {
  /** Records the document's state each time the page opens a WebSocket (Beckon's is the only one). */
  const recordSockets = {
    content: `
      window.__socketsOpenedWhen = [];
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        constructor(...args) {
          window.__socketsOpenedWhen.push(document.readyState);
          super(...args);
        }
      };
    `,
  };

  test('the socket opens after the page has loaded, not while it is idle loading; calls made before wait for it', async ({
    page,
  }) => {
    await page.addInitScript(recordSockets);
    // The shop's deferred script is held: the page has parsed and sits idle, still loading.
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/assets/shop.js', async (route) => {
      await released;
      await route.continue();
    });
    await page.goto('/', { waitUntil: 'commit' });
    await page.waitForFunction(() => 'Beckon' in window);
    // Asked for as soon as the script has run, long before the connection.
    const ids = page.evaluate(() => (window as any).Beckon.getIDs());
    // Two idle periods of the loading page: an idle callback of the widget's would have run by now.
    await page.evaluate(
      () => new Promise((resolve) => requestIdleCallback(() => requestIdleCallback(resolve, { timeout: 1000 }))),
    );
    expect(await page.evaluate(() => (window as any).__socketsOpenedWhen)).toEqual([]);
    release();
    expect((await ids).pageId).toEqual(expect.any(String));
    expect(await page.evaluate(() => (window as any).__socketsOpenedWhen)).toEqual(['complete']);
  });

  test('a page whose load never comes is connected all the same', async ({ page }) => {
    await page.addInitScript(recordSockets);
    // The shop's deferred script never arrives: the page parses, but neither DOMContentLoaded nor load fires.
    await page.route('**/assets/shop.js', () => undefined);
    await page.goto('/', { waitUntil: 'commit' });
    const { pageId } = await visitorIds(page);
    expect(pageId).toEqual(expect.any(String));
    expect(await page.evaluate(() => document.readyState)).not.toBe('complete');
    expect(await page.evaluate(() => (window as any).__socketsOpenedWhen)).toEqual([
      expect.not.stringMatching(/^complete$/),
    ]);
  });
});
