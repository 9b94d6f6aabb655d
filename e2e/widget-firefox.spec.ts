/**
 * The script-tag widget in Firefox (Debian's Firefox ESR over WebDriver BiDi,
 * e2e/firefox.ts): the page loads only the connection and the page API, and
 * the invitation's card comes as the chunk `beckon-ui.js`, imported from
 * beside the script, so Gecko must load it, draw the card and answer exactly
 * as Chromium does.
 */
import { expect, newInteractionId, test } from './fixtures.js';
import { FIREFOX, Firefox, firefoxInstalled } from './firefox.js';

const ENGLISH = { title: 'Can we help you choose?', message: 'An outfitter is online now.' };

test('in Firefox an invitation is drawn through the lazily loaded card, and the visitor declines it', async ({
  beckon,
  caller,
}) => {
  expect(firefoxInstalled(), `${FIREFOX} is installed by scripts/install-test-deps.sh`).toBe(true);
  const firefox = await Firefox.launch();
  try {
    const tab = await firefox.open(`${beckon.url}/`);
    await firefox.waitFor(tab, `'Beckon' in window`);
    const ids = JSON.parse(
      (await firefox.evaluate(tab, `window.Beckon.getIDs().then((ids) => JSON.stringify(ids))`)) as string,
    ) as { visitId: string };
    const id = newInteractionId('firefox');
    expect((await caller.engage({ interactionId: id, visitId: ids.visitId, invitation: ENGLISH })).body).toMatchObject({
      status: 'OK',
    });
    const dialog = `document.querySelector('beckon-invite')?.shadowRoot?.querySelector('[role=dialog]')`;
    await firefox.waitFor(tab, dialog);
    expect(await firefox.evaluate(tab, `${dialog}.querySelector('#title').textContent`)).toBe(ENGLISH.title);
    // Styled by the chunk's constructed stylesheet: fixed in its corner.
    expect(await firefox.evaluate(tab, `getComputedStyle(${dialog}).position`)).toBe('fixed');
    // The card came from beside the script, on the same origin.
    const chunks = (await firefox.evaluate(
      tab,
      `JSON.stringify(performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('beckon-ui')))`,
    )) as string;
    expect(JSON.parse(chunks)).toEqual([`${beckon.url}/widget/beckon-ui.js`]);
    await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');

    await firefox.evaluate(tab, `${dialog}.querySelector('[part~=decline]').click()`);
    await firefox.waitFor(tab, `!${dialog}`);
    await expect.poll(async () => (await caller.status(id)).body.state).toBe('declined');
    expect(firefox.console.filter((m) => m.level === 'error')).toEqual([]);
  } finally {
    await firefox.close();
  }
});
