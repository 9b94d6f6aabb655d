/**
 * The basic path end to end: a caller engages, the visitor sees the
 * invitation on the demo shop in Chromium, answers, and the caller reads the
 * outcome.
 */
import { mkdirSync } from 'node:fs';
import { expect, newInteractionId, test, visitorIds } from './fixtures.js';

test('engage shows the invitation as a named, non-modal dialog', async ({ page, caller }, testInfo) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('show');
  const reply = await caller.engage({
    interactionId: id,
    visitId,
    channels: ['chat', 'callback'],
    invitation: { title: 'Can we help you choose?', message: 'An outfitter is online now.' },
  });
  expect(reply.body).toEqual({ status: 'OK', interactionId: id, state: 'pending' });

  const dialog = page.getByRole('dialog', { name: 'Can we help you choose?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).not.toHaveAttribute('aria-modal', 'true');
  await expect(dialog.getByText('An outfitter is online now.')).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Chat now' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Call me back' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'No thanks' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Close' })).toBeVisible();
  // The page confirmed it showed the invitation.
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');

  mkdirSync('test-results', { recursive: true });
  const shot = await page.screenshot({ path: 'test-results/invitation.png' });
  await testInfo.attach('invitation', { body: shot, contentType: 'image/png' });
});

test('accept records accepted with the channel', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('accept');
  await caller.engage({ interactionId: id, visitId, channels: ['chat', 'callback'], userData: { basket: 2 } });
  const accepted = page.evaluate(
    () =>
      new Promise<unknown>((resolve) =>
        window.addEventListener('beckon:accepted', (e) => resolve((e as CustomEvent).detail), { once: true }),
      ),
  );
  await page.getByRole('button', { name: 'Call me back' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('accepted');
  expect((await caller.status(id)).body.channel).toBe('callback');
  expect(await accepted).toEqual({ interactionId: id, channel: 'callback', userData: { basket: 2 } });
});

test('decline records declined', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('decline');
  await caller.engage({ interactionId: id, visitId, invitation: { declineLabel: 'Not now' } });
  await page.getByRole('button', { name: 'Not now' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('declined');
});

test('the close button declines too', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('close');
  await caller.engage({ interactionId: id, visitId });
  await page.getByRole('button', { name: 'Close' }).click();
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('declined');
});

test('an unanswered invitation times out after timeoutSeconds', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('timeout');
  await caller.engage({ interactionId: id, visitId, timeoutSeconds: 5 });
  const dialog = page.getByRole('dialog', { name: 'Can we help?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toBeHidden({ timeout: 9_000 });
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('timed_out');
});

test('noengage withdraws a shown invitation at once', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const id = newInteractionId('cancel');
  await caller.engage({ interactionId: id, visitId, invitation: { title: 'Talk to us' } });
  const dialog = page.getByRole('dialog', { name: 'Talk to us' });
  await expect(dialog).toBeVisible();
  await expect.poll(async () => (await caller.status(id)).body.state).toBe('delivered');
  expect((await caller.noengage({ interactionId: id, reason: 'no-agents' })).body.state).toBe('cancelled');
  await expect(dialog).toBeHidden({ timeout: 2_000 });
  expect((await caller.status(id)).body).toMatchObject({ state: 'cancelled', reason: 'no-agents' });
});

test('markup in the invitation is shown as text and never run', async ({ page, caller }) => {
  await page.goto('/');
  const { visitId } = await visitorIds(page);
  const title = '<img src=x onerror="window.__pwned=1">Hello';
  const message = '<script>window.__pwned=2</script><b>bold?</b>';
  await caller.engage({ interactionId: newInteractionId('xss'), visitId, invitation: { title, message } });
  const dialog = page.getByRole('dialog', { name: title });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByText(message)).toBeVisible();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(
    await page.locator('beckon-invite').evaluate((el) => el.shadowRoot!.querySelectorAll('img[src="x"], b').length),
  ).toBe(0);
});

test('bad requests get FAULT bodies, never HTML or stack traces', async ({ caller }) => {
  const cases = [
    { body: '{"ixnProfile":', type: 'application/json', status: 400, code: 'INVALID_PARAMETER' },
    { body: '{"ixnProfile":{"interactionId":"x"}}', type: 'application/json', status: 400, code: 'INVALID_PARAMETER' },
    { body: 'ixnProfile=nope', type: 'application/x-www-form-urlencoded', status: 400, code: 'INVALID_PARAMETER' },
    { body: '<engage/>', type: 'application/xml', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    {
      body: JSON.stringify({ ixnProfile: { interactionId: 'x', visitId: 'not-a-visit' } }),
      type: 'application/json',
      status: 400,
      code: 'UNKNOWN_VISIT',
    },
  ];
  for (const c of cases) {
    const reply = await caller.post('/backend/data/gateway/engage', c.body, c.type);
    expect(reply.status, c.body).toBe(c.status);
    expect(reply.type).toMatch(/^application\/json/);
    expect(reply.body).toMatchObject({ status: 'FAULT', code: c.code });
  }
});

test('the visitor keeps one visit across the pages of the shop', async ({ page }) => {
  await page.goto('/');
  const first = await visitorIds(page);
  const links = page.locator('nav a[href]');
  await links.nth(1).click();
  await page.waitForLoadState('load');
  const second = await visitorIds(page);
  expect(second.visitId).toBe(first.visitId);
  expect(second.globalVisitId).toBe(first.globalVisitId);
  expect(second.pageId).not.toBe(first.pageId);
});
