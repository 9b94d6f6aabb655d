/**
 * The page written for GWE (demo/gwe.html) in Firefox: its `_gt` queue is
 * plain page code queued before the widget loads, so Gecko must replay it
 * exactly as Chromium does. Debian's Firefox ESR over WebDriver BiDi
 * (e2e/firefox.ts); the events are read back from Beckon's event stream.
 */
import { EventStreamClient } from '../test/support.js';
import { expect, test } from './fixtures.js';
import { FIREFOX, Firefox, firefoxInstalled } from './firefox.js';

test('the GWE page replays its _gt queue in Firefox: ids, events and identity', async ({ beckon }) => {
  expect(firefoxInstalled(), `${FIREFOX} is installed by scripts/install-test-deps.sh`).toBe(true);
  const firefox = await Firefox.launch();
  try {
    const tab = await firefox.open(`${beckon.url}/gwe.html`);
    // getIDs, queued before the widget loaded, answered with GWE's spellings.
    await firefox.waitFor(tab, `!document.getElementById('gwe-ids').hidden`);
    const ids = JSON.parse(
      (await firefox.evaluate(
        tab,
        `Promise.all([window.Beckon.getIDs(), new Promise((answer) => _gt.push(['getIDs', answer]))])
           .then(([beckon, gwe]) => JSON.stringify({ beckon, gwe, shown: document.getElementById('gwe-visit-id').textContent }))`,
      )) as string,
    );
    expect(ids.gwe).toEqual({
      visitID: ids.beckon.visitId,
      pageID: ids.beckon.pageId,
      globalVisitID: ids.beckon.globalVisitId,
    });
    expect(ids.shown).toBe(ids.beckon.visitId);

    const stream = await EventStreamClient.open(beckon.url, `?visitId=${ids.beckon.visitId}&lastEventId=0`);
    try {
      await firefox.evaluate(
        tab,
        `document.getElementById('gwe-quantity').value = '3';
         document.getElementById('gwe-add-to-cart').click();
         document.getElementById('gwe-sign-in').click();
         document.getElementById('gwe-sign-out').click();`,
      );
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
    // The GWE setting Beckon does not use: one warning, and no error on the page.
    expect(firefox.console.filter((m) => m.level === 'warn' && m.text.includes('"config"'))).toHaveLength(1);
    expect(firefox.console.filter((m) => m.level === 'error')).toEqual([]);
  } finally {
    await firefox.close();
  }
});
