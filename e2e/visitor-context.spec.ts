/**
 * What a page tells about its visitor, end to end (docs/visitor-context.md,
 * docs/gwe-migration.md): a real browser on a demo page of a real Beckon
 * process calls the page API, or replays a GWE page's `_gt` queue, and the
 * events arrive on the event stream (`GET /backend/data/events`).
 */
import { createHmac } from 'node:crypto';
import { EventStreamClient } from '../test/support.js';
import { expect, startBeckonProcess, test, visitorIds, type BeckonProcess } from './fixtures.js';

const IDENTITY_SECRET = 'e2e-identity-secret-shared-with-the-site';

test.describe('the page API', () => {
  let beckon: BeckonProcess;
  test.beforeAll(async () => {
    beckon = await startBeckonProcess({ BECKON_IDENTITY_SECRET: IDENTITY_SECRET });
  });
  test.afterAll(async () => {
    await beckon.stop('SIGTERM');
  });

  test('Beckon.track and signIn resolve once stored, and the events reach the stream', async ({ page }) => {
    // Called at once, before the connection is up: the calls wait for it.
    await page.addInitScript(() => {
      const w = window as any;
      const early = (): Promise<unknown> =>
        w.Beckon ? w.Beckon.track('Landed', { campaign: 'spring' }) : new Promise((r) => setTimeout(r, 5)).then(early);
      w.earlyTrack = early();
    });
    await page.goto(`${beckon.url}/products.html`);
    const { visitId, pageId } = await visitorIds(page);
    const stream = await EventStreamClient.open(beckon.url, `?visitId=${visitId}&lastEventId=0`);
    try {
      await page.evaluate(() => (window as any).earlyTrack);
      await page.evaluate(() =>
        (window as any).Beckon.track('AddToCart', { sku: 'ember-1', cartTotal: 120, gift: false }),
      );
      const token = createHmac('sha256', IDENTITY_SECRET).update('ada@example.com').digest('hex');
      await page.evaluate(
        (token) => (window as any).Beckon.signIn('ada@example.com', { tier: 'gold' }, { token }),
        token,
      );
      await page.evaluate(() => (window as any).Beckon.setUserInfo({ plan: 'pro' }));
      await page.evaluate(() => (window as any).Beckon.signOut());

      await expect
        .poll(() => stream.events.filter((e) => e.type === 'page.event').map((e) => e.name))
        .toEqual(['Landed', 'AddToCart']);
      expect(stream.events.find((e) => e.name === 'AddToCart')).toMatchObject({
        visitId,
        pageId,
        data: { sku: 'ember-1', cartTotal: 120, gift: false },
      });
      await stream.until((s) => s.events.some((e) => e.type === 'visit.signed_out'));
      const identified = stream.events.filter((e) => e.type === 'visit.identified').map((e) => e.data);
      expect(identified[0]).toMatchObject({ userId: 'ada@example.com', verified: true, traits: { tier: 'gold' } });
      expect(identified[1]).toMatchObject({ userId: 'ada@example.com', traits: { plan: 'pro' } });
    } finally {
      stream.close();
    }
  });

  test('refuse with the FAULT code: bad input in the page, a flood at the server', async ({ page }) => {
    await page.goto(`${beckon.url}/products.html`);
    await visitorIds(page);
    const codes = await page.evaluate(async () => {
      const api = (window as any).Beckon;
      const code = (promise: Promise<unknown>) =>
        promise.then(
          () => 'ok',
          (error: Error & { code?: string }) => `${error instanceof Error ? 'Error' : typeof error}:${error.code}`,
        );
      return {
        badName: await code(api.track('1st', {})),
        nested: await code(api.track('Ok', { deep: { x: 1 } })),
        huge: await code(api.track('Ok', { big: 'x'.repeat(3000) })),
        proto: await code(api.track('Ok', JSON.parse('{"__proto__":{"polluted":1}}'))),
        userId: await code(api.signIn('')),
        flood: await Promise.all(Array.from({ length: 25 }, (_, i) => code(api.track('Flood', { i })))),
      };
    });
    expect(codes).toMatchObject({
      badName: 'Error:INVALID_PARAMETER',
      nested: 'Error:INVALID_PARAMETER',
      huge: 'Error:INVALID_PARAMETER',
      proto: 'Error:INVALID_PARAMETER',
      userId: 'Error:INVALID_PARAMETER',
    });
    expect(codes.flood.filter((c) => c === 'ok')).toHaveLength(20);
    expect(codes.flood.filter((c) => c === 'Error:RATE_LIMITED')).toHaveLength(5);
  });
});

test.describe('a page written for GWE', () => {
  test('replays its _gt queue, keeps _gt.push working and answers getIDs with GWE spellings', async ({
    page,
    beckon,
  }) => {
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    await page.goto(`${beckon.url}/gwe.html`);
    const { visitId, pageId, globalVisitId } = await visitorIds(page);
    // getIDs, queued before the widget loaded, answered with GWE's spellings.
    await expect(page.locator('#gwe-visit-id')).toHaveText(visitId);
    await expect(page.locator('#gwe-page-id')).toHaveText(pageId);
    await expect(page.locator('#gwe-global-visit-id')).toHaveText(globalVisitId);

    const stream = await EventStreamClient.open(beckon.url, `?visitId=${visitId}&lastEventId=0`);
    try {
      await page.locator('#gwe-quantity').fill('3');
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByRole('button', { name: 'Sign in as Ada' }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await stream.until((s) => s.events.some((e) => e.type === 'visit.signed_out'), 10_000);
      expect(stream.events.filter((e) => e.type === 'page.event').map((e) => [e.name, e.data])).toEqual([
        ['PageView', { section: 'gear', template: 'product' }],
        ['ProductViewed', { productName: 'Ember Camp Lantern', productPrice: '49' }],
        ['AddToCart', { productName: 'Ember Camp Lantern', quantity: 3, cartTotal: 147 }],
      ]);
      expect(stream.events.find((e) => e.type === 'visit.identified')?.data).toMatchObject({
        userId: 'ada@example.com',
        verified: false,
        traits: { firstName: 'Ada', tier: 'gold' },
      });
    } finally {
      stream.close();
    }
    // The GWE setting Beckon does not use: one warning, nothing thrown.
    expect(warnings.filter((w) => w.includes('"config"'))).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });
});
