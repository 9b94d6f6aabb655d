/**
 * Pacing seen by a visitor (docs/pacing.md): an invitation narrowed to the
 * channels open now shows a button for those only, and one refused for no
 * capacity shows nothing at all. A Beckon process of its own, because channel
 * settings are shared by every test of a process.
 */
import { callerFor, expect, newInteractionId, startBeckonProcess, test, visitorIds } from './fixtures.js';

test('a narrowed invitation shows only the open channel, and a refused one shows nothing', async ({ browser }) => {
  const beckon = await startBeckonProcess();
  try {
    const caller = callerFor(beckon.url);
    const put = (path: string, body: unknown) =>
      fetch(`${beckon.url}/backend/data${path}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Chat is paced by reported capacity and has none yet; callback has no settings, so it is always open.
    expect((await put('/channels/chat', { pacing: { mode: 'progressive' } })).status).toBe(201);

    const visitor = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitor.newPage();
    await shop.goto('/');
    const { visitId } = await visitorIds(shop);

    const narrowed = newInteractionId('narrowed');
    const reply = await caller.engage({ interactionId: narrowed, visitId, channels: ['chat', 'callback'] });
    expect(reply.body).toMatchObject({ status: 'OK', state: 'pending' });
    const dialog = shop.getByRole('dialog');
    await expect(dialog.getByRole('button', { name: 'Call me back' })).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Chat now' })).toHaveCount(0);
    await dialog.getByRole('button', { name: 'No thanks' }).click();
    await expect.poll(async () => (await caller.status(narrowed)).body.state).toBe('declined');

    // Chat alone, still without capacity: refused, and the page stays as it was.
    const refused = await caller.engage({ interactionId: newInteractionId('refused'), visitId, channels: ['chat'] });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'NO_CAPACITY',
      details: [{ channel: 'chat', reason: 'capacity-unknown' }],
    });

    // Capacity reported: chat is offered again, with its button.
    expect((await put('/channels/chat/capacity', { freeSlots: 2 })).status).toBe(200);
    const open = newInteractionId('open');
    expect((await caller.engage({ interactionId: open, visitId, channels: ['chat', 'callback'] })).status).toBe(200);
    await expect(dialog.getByRole('button', { name: 'Chat now' })).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Call me back' })).toBeVisible();
    await visitor.close();
  } finally {
    await beckon.stop('SIGTERM');
  }
});
