/**
 * The console's insights view against the real report endpoint:
 * a history scripted through the REST API and answered on a real shop page
 * shows as the funnel, outcomes, channel and hour figures; one more answer
 * updates them without a reload; the charts draw under the strict CSP; axe
 * finds nothing. A Beckon process of its own keeps other tests' attempts out
 * of the numbers.
 */
import { readFileSync } from 'node:fs';
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

    // The four charts are drawn: Chart.js loaded from Beckon's origin and owns each canvas.
    const canvases = view.locator('canvas[role="img"]');
    await expect(canvases).toHaveCount(4);
    await expect
      .poll(() =>
        view.evaluate(
          () => [...document.querySelectorAll('canvas')].filter((c) => (window as any).Chart?.getChart(c)).length,
        ),
      )
      .toBe(4);
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
