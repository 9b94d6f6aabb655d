/**
 * One visit's page views, as a visitor browsing a shop makes them, through
 * the store calls the core makes: the visit started, each page opened,
 * changed and closed, one invitation shown and accepted on the first page,
 * the visit ended. The retention benchmarks fill a store with these.
 */
import type { BeckonStore, NodeRef } from '../../src/core/store.js';
import { ixnProfileSchema } from '../../src/protocol/index.js';

/** What a product page of a shop reports when it connects. */
export const pageInfo = (n: number) => ({
  url: `https://shop.example/products/item-${n}?ref=home`,
  title: `Item ${n} – Example Shop`,
  visible: true,
  focused: true,
  locale: 'en-GB',
});

/** A business event as a shop tracks one: a short name, a few fields (about 60 bytes of JSON). */
export const cartEvent = (n: number) => ({
  name: 'added_to_cart',
  data: { sku: `sku-${String(n % 100_000).padStart(6, '0')}`, price: 19.99, quantity: 1 + (n % 3), currency: 'EUR' },
});

export interface BrowseOptions {
  /** The node that holds the pages; none: held by no node. */
  node?: NodeRef;
  /** A business event on every page. */
  businessEvents?: boolean;
}

export async function browse(
  store: BeckonStore,
  v: number,
  pagesPerVisit: number,
  at: number,
  options: BrowseOptions = {},
): Promise<void> {
  const visitId = `visit-${String(v).padStart(8, '0')}-${'x'.repeat(14)}`;
  const { node } = options;
  await store.startVisit({ visitId, globalVisitId: `browser-${v}-${'y'.repeat(20)}` }, at);
  for (let p = 0; p < pagesPerVisit; p++) {
    const pageId = `page-${v}-${p}-${'z'.repeat(20)}`;
    const info = {
      url: `https://shop.example/products/item-${v * 10 + p}?ref=home`,
      title: `Item ${v * 10 + p} – Example Shop`,
      visible: true,
      focused: true,
      locale: 'en-GB',
    };
    await store.openPage({ pageId, visitId, info, ...(node ? { node } : {}) }, at + p * 10);
    if (options.businessEvents) {
      await store.recordBusinessEvent({ visitId, pageId, name: 'viewed', data: { sku: `sku-${p}` } }, at + p * 10 + 1);
    }
    if (p === 0) {
      // One invitation, shown on the first page and accepted (A3: one per page and hour).
      const interactionId = `ixn-${v}-${'w'.repeat(24)}`;
      const profile = ixnProfileSchema.parse({
        interactionId,
        visitId,
        pageId,
        userData: { campaign: 'spring', basket: 42.5 },
      });
      await store.createAttempt(profile, { exclusive: true, now: at + 1, place: true });
      await store.transition({
        interactionId,
        from: ['pending'],
        to: 'delivered',
        at: at + 2,
        pageId,
        timeoutAt: at + 60_000,
      });
      await store.transition({ interactionId, from: ['delivered'], to: 'accepted', at: at + 3, channel: 'chat' });
    }
    await store.updatePage(pageId, { visible: false }, at + p * 10 + 5);
    await store.closePage(pageId, at + p * 10 + 9, node);
  }
  await store.endVisit(visitId, at + pagesPerVisit * 10);
}
