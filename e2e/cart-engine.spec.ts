/**
 * The example decision engine (examples/cart-engine.ts) runs the whole loop
 * against a real Beckon and a real page: the visitor's cart passes the
 * threshold (a business event), the engine decides and engages, the page
 * shows the invitation, the visitor accepts, and the engine hears the
 * outcome.
 */
import { runCartEngine } from '../examples/cart-engine.js';
import { expect, test, visitorIds } from './fixtures.js';

test('a cart over the threshold gets an invitation, and the engine hears the answer', async ({ page, beckon }) => {
  const lines: Record<string, unknown>[] = [];
  const stop = new AbortController();
  const engine = runCartEngine({
    url: beckon.url,
    threshold: 100,
    signal: stop.signal,
    say: (line) => lines.push(line as Record<string, unknown>),
  });
  try {
    await expect.poll(() => lines.some((line) => 'listening' in line)).toBe(true);
    await page.goto('/products.html');
    const { visitId } = await visitorIds(page);

    // Under the threshold: no decision.
    await page.evaluate(() => (window as any).Beckon.track('cart', { total: 60 }));
    await page.evaluate(() => (window as any).Beckon.track('cart', { total: 140 }));

    const dialog = page.getByRole('dialog', { name: 'Need a hand with your order?' });
    await expect(dialog).toBeVisible();
    expect(lines.filter((line) => 'decision' in line)).toEqual([{ decision: 'invite', visitId, total: 140 }]);
    await dialog.getByRole('button', { name: 'Chat now' }).click();

    await expect
      .poll(() => lines.find((line) => 'outcome' in line))
      .toEqual({ outcome: 'accepted', visitId, channel: 'chat', total: 140 });
    // A second cart event of the same visit does not invite again.
    await page.evaluate(() => (window as any).Beckon.track('cart', { total: 180 }));
    await page.waitForTimeout(300);
    expect(lines.filter((line) => 'decision' in line)).toHaveLength(1);
  } finally {
    stop.abort();
    await engine;
  }
});
