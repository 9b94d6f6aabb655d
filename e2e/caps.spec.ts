/**
 * Frequency caps as a person sees them (docs/lifecycle.md): on a Beckon with
 * both caps set, the visitor declines an invitation on the shop, the console
 * shows the browser capped beside its visit, and inviting it again from the
 * console shows the VISITOR_CAPPED fault.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { callerFor, expect, newInteractionId, startBeckonProcess, test, visitorIds } from './fixtures.js';

test('the console shows a browser capped after it declined, and why engage is refused', async ({ browser }) => {
  const beckon = await startBeckonProcess({ BECKON_CAP_PER_DAY: '1', BECKON_CAP_AFTER_DECLINE_MINUTES: '30' });
  try {
    const context = await browser.newContext({ baseURL: beckon.url });
    const shop = await context.newPage();
    await shop.goto('/products.html');
    const { visitId } = await visitorIds(shop);

    const console = await context.newPage();
    await console.goto('/console/');
    const visit = console.getByRole('article', { name: `Visit ${visitId}` });
    await expect(visit.getByText('0/1 shown in 24 h')).toBeVisible();

    const caller = callerFor(beckon.url);
    expect(
      (
        await caller.engage({
          interactionId: newInteractionId('capped'),
          visitId,
          invitation: { title: 'Need a hand?' },
        })
      ).status,
    ).toBe(200);
    const dialog = shop.getByRole('dialog', { name: 'Need a hand?' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'No thanks' }).click();
    await expect(dialog).toBeHidden();

    // Both caps refuse now; the daily one lifts later (24 h against 30 min), so it is the one named.
    await expect(visit.locator('.flag-capped')).toContainText('capped (daily cap) until');
    await expect(visit.locator('.flag-capped time')).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT/);

    await visit.getByText('Invite this visitor').click();
    await visit.getByRole('button', { name: 'Send invitation' }).click();
    await expect(visit.getByRole('alert')).toContainText('VISITOR_CAPPED');
    await expect(visit.getByRole('alert')).toContainText('BECKON_CAP_PER_DAY');
    await expect(dialog).toBeHidden();

    const results = await new AxeBuilder({ page: console }).include(`[aria-labelledby] .meta`).analyze();
    expect(results.violations).toEqual([]);
    await context.close();
  } finally {
    await beckon.stop('SIGTERM');
  }
});
