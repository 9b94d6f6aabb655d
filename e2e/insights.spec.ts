/**
 * The console's insights view (docs/console.md) against the real report
 * endpoint: a history scripted through the REST API and answered on a real
 * shop page shows as the funnel, outcomes, channel and hour figures; one more
 * answer updates them without a reload; the charts draw under the strict CSP;
 * axe finds nothing. A Beckon process of its own keeps other tests' attempts
 * out of the numbers.
 *
 * "Why not offered" has a test of its own: refused and narrowed engages, by
 * reason, in total and over time. Its screenshot in docs/console.md is
 * written to docs/images/console-why-not-offered.png when BECKON_DOC_IMAGES=1
 * (else to test-results/ only).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';
import { callerFor, expect, newInteractionId, startBeckonProcess, test, visitorIds, type Caller } from './fixtures.js';

/** The figure under a heading of the totals strip, e.g. "Created". */
const total = (view: Page, term: string): Locator =>
  view
    .locator('#insights-totals > div')
    .filter({ has: view.locator('dt', { hasText: new RegExp(`^${term}$`) }) })
    .locator('dd');

/** A table's body rows as text cells. */
async function rows(card: Locator): Promise<string[][]> {
  return card
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => cell.textContent!.trim())));
}

async function settle(caller: Caller, id: string, state: string): Promise<void> {
  await expect.poll(async () => (await caller.status(id)).body.state, { timeout: 20_000 }).toBe(state);
}

test('the insights view shows the scripted history, follows a new answer live, and passes axe', async ({ browser }) => {
  test.setTimeout(90_000);
  const beckon = await startBeckonProcess();
  try {
    const caller = callerFor(beckon.url);
    const visitor = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitor.newPage();
    await shop.goto('/products.html');
    const { visitId } = await visitorIds(shop);

    // An attempt that never finds an open page expires; it runs while the rest is answered.
    const away = await browser.newContext({ baseURL: beckon.url });
    const awayPage = await away.newPage();
    await awayPage.goto('/');
    const { visitId: awayVisit } = await visitorIds(awayPage);
    await awayPage.close();
    await expect.poll(() => caller.openPages(awayVisit)).toEqual([]);
    const expiring = newInteractionId('expire');
    expect((await caller.engage({ interactionId: expiring, visitId: awayVisit, expirationSeconds: 10 })).status).toBe(
      200,
    );

    /** Engages the shop's visit and waits until its page shows the invitation. */
    const invite = async (label: string, extra: Record<string, unknown> = {}) => {
      const id = newInteractionId(label);
      const answer = await caller.engage({ interactionId: id, visitId, channels: ['chat', 'callback'], ...extra });
      expect(answer.status).toBe(200);
      await expect(shop.getByRole('dialog')).toBeVisible();
      await settle(caller, id, 'delivered');
      return id;
    };
    const chat = await invite('chat');
    await shop.getByRole('button', { name: 'Chat now' }).click();
    await settle(caller, chat, 'accepted');
    const callback = await invite('callback');
    await shop.getByRole('button', { name: 'Call me back' }).click();
    await settle(caller, callback, 'accepted');
    const declined = await invite('decline');
    await shop.getByRole('button', { name: 'No thanks' }).click();
    await settle(caller, declined, 'declined');
    const cancelled = await invite('cancel');
    expect((await caller.noengage({ interactionId: cancelled, reason: 'no-agents' })).status).toBe(200);
    await settle(caller, cancelled, 'cancelled');
    const timedOut = await invite('timeout', { timeoutSeconds: 5 });
    await settle(caller, timedOut, 'timed_out');
    await settle(caller, expiring, 'expired');
    await expect(shop.getByRole('dialog')).toBeHidden();

    // The console, in a context of its own, as an operator opens it.
    const operator = await browser.newContext({ baseURL: beckon.url, viewport: { width: 1280, height: 1000 } });
    const view = await operator.newPage();
    const violations: string[] = [];
    view.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    view.on('pageerror', (error) => violations.push(error.message));
    await view.goto('/console/');
    await view.getByRole('link', { name: 'Insights' }).click();
    await expect(view.getByRole('heading', { name: 'Insights', level: 2 })).toBeFocused();
    await expect(view.getByLabel('Time range')).toHaveValue('24h');

    // 6 created (one expired unshown), 5 shown, 2 accepted: 40 %.
    await expect(total(view, 'Created')).toHaveText('6');
    await expect(total(view, 'Shown')).toHaveText('5');
    await expect(total(view, 'Accepted')).toHaveText('2');
    await expect(total(view, 'Acceptance rate')).toHaveText('40 %');

    const funnel = view.getByRole('region', { name: 'Funnel' });
    expect(await rows(funnel)).toEqual([
      ['Created', '6', '100 %'],
      ['Delivered (shown)', '5', '83 %'],
      ['Accepted', '2', '33 %'],
    ]);
    const outcomes = view.getByRole('region', { name: 'Outcomes over time' });
    await expect(outcomes.locator('.chart-summary')).toHaveText(
      'Over 24 hours: 2 accepted, 1 declined, 1 timed out, 1 cancelled, 1 expired.',
    );
    // Each row is one hour; the history may straddle an hour, so add the rows up.
    const columnSums = (table: string[][]) =>
      (table[0] ?? []).slice(1).map((_, i) => table.reduce((sum, row) => sum + Number(row[i + 1]), 0));
    expect(columnSums(await rows(outcomes))).toEqual([6, 5, 2, 1, 1, 1, 1]);
    expect(await rows(outcomes)).toHaveLength(24);
    const channels = view.getByRole('region', { name: 'Acceptance rate by channel' });
    expect(await rows(channels)).toEqual([
      ['callback', '1', '20 %'],
      ['chat', '1', '20 %'],
    ]);
    const hours = view.getByRole('region', { name: 'Acceptance rate by hour of day' });
    const hourRows = await rows(hours);
    expect(hourRows.reduce((sum, row) => sum + Number(row[1]), 0)).toBe(5);
    expect(hourRows.reduce((sum, row) => sum + Number(row[2]), 0)).toBe(2);
    const pages = view.getByRole('region', { name: 'Top pages' });
    await expect(pages.locator('tbody')).toContainText('/products.html');

    // Nothing was refused or narrowed in this history.
    await expect(total(view, 'Refused')).toHaveText('0');
    await expect(total(view, 'Narrowed')).toHaveText('0');
    await expect(view.getByRole('region', { name: 'Why not offered' }).locator('.chart-summary')).toHaveText(
      'Every engage in this range was offered as asked.',
    );

    // The six charts are drawn: Chart.js loaded from Beckon's origin and owns each canvas.
    const canvases = view.locator('canvas[role="img"]');
    await expect(canvases).toHaveCount(6);
    await expect
      .poll(() =>
        view.evaluate(
          () => [...document.querySelectorAll('canvas')].filter((c) => (window as any).Chart?.getChart(c)).length,
        ),
      )
      .toBe(6);
    await expect(canvases.first()).toHaveAccessibleName(/Funnel 6 created, 5 delivered \(shown\), 2 accepted\./);

    const axe = await new AxeBuilder({ page: view }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    await view.screenshot({ path: 'test-results/insights.png', fullPage: true });

    // One more answer: the figures change through the event stream, without a reload.
    await view.evaluate(() => ((window as any).__sameDocument = true));
    const more = await invite('live');
    await shop.getByRole('button', { name: 'Chat now' }).click();
    await settle(caller, more, 'accepted');
    await expect(total(view, 'Created')).toHaveText('7');
    await expect(total(view, 'Accepted')).toHaveText('3');
    await expect(total(view, 'Acceptance rate')).toHaveText('50 %');
    expect(await rows(channels)).toEqual([
      ['chat', '2', '33 %'],
      ['callback', '1', '17 %'],
    ]);
    expect(await view.evaluate(() => (window as any).__sameDocument)).toBe(true);

    // The CSV of the range: a header row and one row per attempt.
    const [download] = await Promise.all([
      view.waitForEvent('download'),
      view.getByRole('button', { name: 'Download CSV of this range' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^beckon-engagements-.*\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(csv).toHaveLength(1 + 7);
    expect(csv.slice(1).join('\n')).toContain(more);

    expect(violations).toEqual([]);
    await Promise.all([visitor.close(), away.close(), operator.close()]);
  } finally {
    await beckon.stop('SIGTERM');
  }
});

test('why not offered: refused engages by reason and narrowed invitations, in total and over time', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const beckon = await startBeckonProcess();
  try {
    const caller = callerFor(beckon.url);
    const visitor = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitor.newPage();
    await shop.goto('/products.html');
    const { visitId } = await visitorIds(shop);

    // Chat may have none in progress: an engage for chat alone is refused, one for chat and callback narrowed.
    const paced = await fetch(`${beckon.url}/backend/data/channels/chat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pacing: { mode: 'fixed', maxOnScreen: 0 } }),
    });
    expect(paced.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const refused = await caller.engage({ interactionId: newInteractionId('refused'), visitId, channels: ['chat'] });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('NO_CAPACITY');
    }
    const unknown = await caller.engage({ interactionId: newInteractionId('unknown'), visitId: 'no-such-visit' });
    expect(unknown.body.code).toBe('UNKNOWN_VISIT');
    const narrowed = newInteractionId('narrowed');
    const offered = await caller.engage({ interactionId: narrowed, visitId, channels: ['chat', 'callback'] });
    expect(offered.status).toBe(200);
    const dialog = shop.getByRole('dialog');
    await expect(dialog.getByRole('button', { name: 'Call me back' })).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Chat now' })).toHaveCount(0);
    expect((await caller.noengage({ interactionId: narrowed, reason: 'shown' })).status).toBe(200);

    const operator = await browser.newContext({ baseURL: beckon.url, viewport: { width: 1280, height: 1000 } });
    const view = await operator.newPage();
    const violations: string[] = [];
    view.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    view.on('pageerror', (error) => violations.push(error.message));
    await view.goto('/console/#insights');
    await expect(total(view, 'Refused')).toHaveText('4');
    await expect(total(view, 'Narrowed')).toHaveText('1');
    await expect(total(view, 'Created')).toHaveText('1');

    const why = view.getByRole('region', { name: 'Why not offered', exact: true });
    await expect(why.locator('.chart-summary')).toHaveText(
      '4 engages refused (3 no capacity, 1 unknown visit) and 1 narrowed to fewer channels.',
    );
    expect(await rows(why)).toEqual([
      ['No capacity (NO_CAPACITY)', '3'],
      ['Capped (VISITOR_CAPPED)', '0'],
      ['In progress (ENGAGEMENT_IN_PROGRESS)', '0'],
      ['Opted out (VISITOR_OPTED_OUT)', '0'],
      ['Unknown visit (UNKNOWN_VISIT)', '1'],
      ['Narrowed to fewer channels', '1'],
    ]);
    const overTime = view.getByRole('region', { name: 'Not offered over time', exact: true });
    const table = await rows(overTime);
    expect(table).toHaveLength(24);
    // The engages may straddle an hour: add the rows up, column by column.
    expect((table[0] ?? []).slice(1).map((_, i) => table.reduce((sum, row) => sum + Number(row[i + 1]), 0))).toEqual([
      3, 0, 0, 0, 1, 1,
    ]);
    expect(await overTime.locator('thead th').allTextContents()).toEqual([
      'Hour',
      'No capacity',
      'Capped',
      'In progress',
      'Opted out',
      'Unknown visit',
      'Narrowed to fewer channels',
    ]);
    await expect
      .poll(() =>
        view.evaluate(() =>
          ['not-offered-chart', 'not-offered-time-chart'].every((id) =>
            (window as any).Chart?.getChart(document.getElementById(id)),
          ),
        ),
      )
      .toBe(true);
    await expect(view.locator('#not-offered-chart')).toHaveAccessibleName(
      /^Why not offered 4 engages refused \(3 no capacity, 1 unknown visit\)/,
    );

    const axe = await new AxeBuilder({ page: view }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);

    // The part of the page docs/console.md shows: the two cards, side by side with the funnel and outcomes.
    await view.mouse.move(0, 0);
    // Box and clip measure from the same corner only when the page is not scrolled.
    await view.evaluate(() => window.scrollTo(0, 0));
    const boxes = await Promise.all([why.boundingBox(), overTime.boundingBox()]);
    const [a, b] = boxes.map((box) => box!);
    const clip = {
      x: Math.min(a!.x, b!.x) - 8,
      y: Math.min(a!.y, b!.y) - 8,
      width: Math.max(a!.x + a!.width, b!.x + b!.width) - Math.min(a!.x, b!.x) + 16,
      height: Math.max(a!.y + a!.height, b!.y + b!.height) - Math.min(a!.y, b!.y) + 16,
    };
    const shot = 'test-results/console-why-not-offered.png';
    await view.screenshot({ path: shot, clip, fullPage: true });
    if (process.env.BECKON_DOC_IMAGES) {
      const images = fileURLToPath(new URL('../docs/images/', import.meta.url));
      mkdirSync(images, { recursive: true });
      copyFileSync(shot, `${images}console-why-not-offered.png`);
    }

    expect(violations).toEqual([]);
    await Promise.all([visitor.close(), operator.close()]);
  } finally {
    await beckon.stop('SIGTERM');
  }
});
