/**
 * The console's Channels view (docs/console.md#channels) against a real
 * Beckon: a channel added in the form with business hours and progressive
 * pacing is closed until the contact centre reports capacity, then open with
 * its free slots and allowance; an invitation shows as in progress; a bad
 * time zone and a bad range come back beside their fields; the view refreshes
 * without disturbing the form; delete; axe finds nothing. Each test has a
 * Beckon process of its own: channel settings change what every engage of
 * the process may offer.
 *
 * The screenshot in docs/console.md is made by the last test; run it with
 * BECKON_DOC_IMAGES=1 to write docs/images/console-channels.png (else it goes
 * to test-results/ only).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Locator, Page } from '@playwright/test';
import {
  callerFor,
  expect,
  newInteractionId,
  startBeckonProcess,
  test,
  visitorIds,
  type BeckonProcess,
} from './fixtures.js';

/**
 * Zones a whole hour apart, round the world, so that one of them always has
 * its wall clock in a chosen part of the day: channel hours that are open (or
 * closed) now, whenever the test runs.
 */
const ZONES = [
  'Pacific/Pago_Pago',
  'Pacific/Honolulu',
  'America/Anchorage',
  'America/Los_Angeles',
  'America/Denver',
  'America/Chicago',
  'America/New_York',
  'America/Halifax',
  'America/Sao_Paulo',
  'Atlantic/South_Georgia',
  'Atlantic/Azores',
  'Europe/London',
  'Europe/Paris',
  'Europe/Athens',
  'Europe/Moscow',
  'Asia/Dubai',
  'Asia/Karachi',
  'Asia/Dhaka',
  'Asia/Bangkok',
  'Asia/Singapore',
  'Asia/Tokyo',
  'Australia/Brisbane',
  'Pacific/Noumea',
  'Pacific/Auckland',
];

/** A zone whose local hour now is in [from, to). */
function zoneWhereHourIs(from: number, to: number): string {
  const hourIn = (zone: string) =>
    Number(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
  const zone = ZONES.find((z) => hourIn(z) >= from && hourIn(z) < to);
  if (!zone) throw new Error(`no zone has its hour in [${from}, ${to}) now`);
  return zone;
}

/** The value under a term of a channel card's facts, e.g. "Free slots". */
const fact = (card: Locator, term: string): Locator =>
  card.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');

async function put(beckon: BeckonProcess, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${beckon.url}/backend/data${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function get(beckon: BeckonProcess, path: string): Promise<any> {
  return (await fetch(`${beckon.url}/backend/data${path}`)).json();
}

/** The console on `view`, as an operator opens it, with every CSP report and page error collected. */
async function openConsole(browser: Browser, beckon: BeckonProcess): Promise<{ view: Page; violations: string[] }> {
  const operator = await browser.newContext({ baseURL: beckon.url, viewport: { width: 1280, height: 1000 } });
  const view = await operator.newPage();
  const violations: string[] = [];
  view.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  view.on('pageerror', (error) => violations.push(error.message));
  await view.goto('/console/');
  return { view, violations };
}

async function axe(view: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page: view }).analyze();
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('an operator adds a paced channel, sees it open on a capacity report, follows it, and deletes it', async ({
  browser,
}) => {
  // A long walk through the view, with two axe scans of several seconds each on a busy machine.
  test.setTimeout(180_000);
  const beckon = await startBeckonProcess();
  try {
    const { view, violations } = await openConsole(browser, beckon);
    await view.getByRole('link', { name: 'Channels' }).click();
    await expect(view.getByRole('heading', { name: /^Channels/, level: 2 })).toBeFocused();
    await expect(view.getByRole('link', { name: 'Channels' })).toHaveAttribute('aria-current', 'page');
    await expect(view.getByText('No channel has settings')).toBeVisible();

    // Add "chat": open 08:00–20:00 every day in a zone where it is day now, a holiday next year, progressive.
    const zone = zoneWhereHourIs(9, 16);
    const holiday = `${new Date().getUTCFullYear() + 1}-12-25`;
    await view.getByRole('button', { name: 'Add a channel' }).click();
    const editor = view.getByRole('region', { name: 'Add a channel' });
    await expect(editor.getByRole('heading', { name: 'Add a channel' })).toBeFocused();
    await editor.getByLabel('Name', { exact: true }).fill('chat');
    await editor.getByLabel('Open during these hours').check();
    await editor.getByLabel('Time zone').fill(zone);
    const monday = editor.getByRole('group', { name: 'Monday' });
    await monday.getByLabel('From', { exact: true }).fill('08:00');
    await monday.getByLabel('to', { exact: true }).fill('20:00');
    await editor.getByRole('button', { name: 'Copy Monday to Tuesday–Friday' }).click();
    for (const day of ['Saturday', 'Sunday']) {
      const group = editor.getByRole('group', { name: day });
      await expect(group.getByText('Closed')).toBeVisible();
      await group.getByRole('button', { name: `Add hours on ${day}` }).click();
      await group.getByLabel('From', { exact: true }).fill('08:00');
      await group.getByLabel('to', { exact: true }).fill('20:00');
    }
    await editor.getByLabel('Closed dates').fill(holiday);
    await editor.getByRole('radio', { name: /^Progressive/ }).check();
    await expect(editor.getByLabel('Most in progress at once')).toHaveCount(0);
    await editor.getByLabel('Initial acceptance rate (0–1)').fill('0.5');
    await editor.getByRole('button', { name: 'Save channel' }).click();

    // Saved: the form closes, focus is on the new channel; closed until capacity is reported.
    const card = view.getByRole('article', { name: 'chat' });
    await expect(card.getByRole('heading', { name: 'chat' })).toBeFocused();
    await expect(editor).toBeHidden();
    await expect(card.locator('.state')).toHaveText('closed');
    await expect(card.locator('.channel-why')).toHaveText('Closed: no capacity report yet.');
    await expect(fact(card, 'Free slots')).toHaveText('no report yet');
    await expect(fact(card, 'Hours')).toHaveText(`Every day 08:00–20:00 (${zone})`);
    await expect(fact(card, 'Closed on')).toHaveText(holiday);
    await expect(fact(card, 'Next')).toHaveText(new RegExp(`^Closes \\S+ 20:00 \\(${zone}\\), in \\d+ h`));
    await expect(fact(card, 'Pacing')).toHaveText(
      'Progressive · proactive share 100 % · initial rate 50 %, at least 5 % · report stale after 60 s',
    );
    const stored = await get(beckon, '/channels/chat');
    expect(stored.hours).toEqual({
      timeZone: zone,
      weekly: Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, [['08:00', '20:00']]]),
      ),
      closed: [holiday],
    });
    expect(stored.pacing).toMatchObject({ mode: 'progressive', initialAcceptanceRate: 0.5 });

    // The contact centre reports 3 free slots: open, 3 ÷ 0.5 = 6 at once; the view reads it within its refresh.
    expect((await put(beckon, '/channels/chat/capacity', { freeSlots: 3 })).status).toBe(200);
    await expect(card.locator('.state')).toHaveText('open', { timeout: 8000 });
    await expect(card.locator('.channel-why')).toHaveText('Open: 6 more invitations may be in progress.');
    await expect(fact(card, 'Free slots')).toHaveText(/^3 free, reported (just now|\d+ s ago)$/);
    await expect(fact(card, 'Allowance')).toHaveText('6 at once');
    await expect(fact(card, 'In progress')).toHaveText('0');
    await expect(fact(card, 'Acceptance rate')).toHaveText('50 %');

    // An invitation offering chat is in progress on it.
    const visitor = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitor.newPage();
    await shop.goto('/products.html');
    const { visitId } = await visitorIds(shop);
    const caller = callerFor(beckon.url);
    const engaged = await caller.engage({ interactionId: newInteractionId('paced'), visitId, channels: ['chat'] });
    expect(engaged.status).toBe(200);
    await expect(fact(card, 'In progress')).toHaveText('1');
    await expect(card.locator('.channel-why')).toHaveText('Open: 5 more invitations may be in progress.');
    expect(await axe(view)).toEqual([]);

    // A report older than the channel's stale time closes it, and the view says so.
    await card.getByRole('button', { name: 'Edit chat' }).click();
    const edit = view.getByRole('region', { name: 'Edit chat' });
    await expect(edit.getByRole('heading', { name: 'Edit chat' })).toBeFocused();
    await expect(edit.getByLabel('Time zone')).toHaveValue(zone);
    await edit.getByLabel('Capacity report stale after (seconds)').fill('2');
    await edit.getByRole('button', { name: 'Save channel' }).click();
    await expect(card.getByRole('heading', { name: 'chat' })).toBeFocused();
    await expect(card.locator('.flag-stale')).toHaveText('stale: older than 2 s', { timeout: 8000 });
    await expect(card.locator('.channel-why')).toHaveText('Closed: the last capacity report is older than 2 s.');

    // Typing in the form survives the view's refreshes, focus included.
    await card.getByRole('button', { name: 'Edit chat' }).click();
    const zoneInput = edit.getByLabel('Time zone');
    await zoneInput.fill('Mars/Olympus_Mons');
    const status = view.locator('#channels-status');
    const before = await status.textContent();
    await expect(status).not.toHaveText(before!, { timeout: 8000 });
    await expect(zoneInput).toBeFocused();
    await expect(zoneInput).toHaveValue('Mars/Olympus_Mons');

    // A bad zone and a range that ends before it starts: each refusal beside its field, nothing stored.
    const tuesday = edit.getByRole('group', { name: 'Tuesday' });
    await tuesday.getByLabel('From', { exact: true }).fill('18:00');
    await tuesday.getByLabel('to', { exact: true }).fill('09:00');
    await edit.getByRole('button', { name: 'Save channel' }).click();
    await expect(edit.getByRole('alert')).toContainText('INVALID_PARAMETER');
    await expect(zoneInput).toBeFocused();
    await expect(zoneInput).toHaveAttribute('aria-invalid', 'true');
    await expect(zoneInput).toHaveAccessibleDescription(/must be an IANA time zone name/);
    await expect(tuesday.locator('.range-row .field-error')).toHaveText(/must start before it ends/);
    await expect(tuesday.getByLabel('From', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(edit.getByRole('group', { name: 'Monday' }).getByLabel('From', { exact: true })).not.toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect((await get(beckon, '/channels/chat')).hours.timeZone).toBe(zone);
    expect(await axe(view)).toEqual([]);

    // Cancel: the form closes and focus goes back where it was opened.
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await expect(edit).toBeHidden();
    await expect(card.getByRole('button', { name: 'Edit chat' })).toBeFocused();

    // Delete, after a second click.
    await card.getByRole('button', { name: 'Delete chat' }).click();
    const confirm = card.getByRole('button', { name: 'Yes, delete chat' });
    await expect(confirm).toBeFocused();
    await card.getByRole('button', { name: 'Keep it' }).click();
    await expect(card.getByRole('button', { name: 'Delete chat' })).toBeFocused();
    await card.getByRole('button', { name: 'Delete chat' }).click();
    await confirm.click();
    await expect(card).toBeHidden();
    await expect(view.getByText('No channel has settings')).toBeVisible();
    await expect(view.getByRole('heading', { name: /^Channels/, level: 2 })).toBeFocused();
    expect(await get(beckon, '/channels')).toEqual({ channels: [] });

    expect(violations).toEqual([]);
    await Promise.all([visitor.close(), view.context().close()]);
  } finally {
    await beckon.stop('SIGTERM');
  }
});

test('the view shows open, closed-by-hours, closed-by-pacing and stale channels side by side (docs screenshot)', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const beckon = await startBeckonProcess();
  try {
    const holiday = `${new Date().getUTCFullYear() + 1}-12-25`;
    const office = [['08:00', '20:00']];
    const week = { mon: office, tue: office, wed: office, thu: office, fri: office, sat: office, sun: office };
    const open = { timeZone: zoneWhereHourIs(9, 16), weekly: week, closed: [holiday] };
    expect(
      (await put(beckon, '/channels/chat', { hours: open, pacing: { mode: 'progressive', proactiveShare: 0.8 } }))
        .status,
    ).toBe(201);
    expect((await put(beckon, '/channels/chat/capacity', { agentsReady: 4, maxPerAgent: 2, active: 5 })).status).toBe(
      200,
    );
    const night = { timeZone: zoneWhereHourIs(0, 5), weekly: { ...week, sat: [], sun: [] } };
    expect((await put(beckon, '/channels/callback', { hours: night })).status).toBe(201);
    expect((await put(beckon, '/channels/voice', { pacing: { mode: 'fixed', maxOnScreen: 1 } })).status).toBe(201);
    // A report that goes stale: the contact centre stopped reporting for video.
    expect(
      (await put(beckon, '/channels/video', { pacing: { mode: 'progressive', capacityStaleSeconds: 5 } })).status,
    ).toBe(201);
    expect((await put(beckon, '/channels/video/capacity', { freeSlots: 2 })).status).toBe(200);

    const visitor = await browser.newContext({ baseURL: beckon.url });
    const shop = await visitor.newPage();
    await shop.goto('/products.html');
    const { visitId } = await visitorIds(shop);
    const caller = callerFor(beckon.url);
    const engaged = await caller.engage({
      interactionId: newInteractionId('shot'),
      visitId,
      channels: ['chat', 'voice', 'callback'],
    });
    expect(engaged.status).toBe(200);

    const { view, violations } = await openConsole(browser, beckon);
    await view.goto('/console/#channels');
    const chat = view.getByRole('article', { name: 'chat' });
    const callback = view.getByRole('article', { name: 'callback' });
    const voice = view.getByRole('article', { name: 'voice' });
    await expect(chat.locator('.channel-why')).toHaveText('Open: 11 more invitations may be in progress.');
    await expect(fact(chat, 'Free slots')).toHaveText(/^3 free, reported/);
    await expect(fact(chat, 'Allowance')).toHaveText('12 at once');
    await expect(callback.locator('.channel-why')).toHaveText('Closed: outside its business hours.');
    await expect(fact(callback, 'Next')).toHaveText(/^Opens /);
    await expect(fact(callback, 'Hours')).toHaveText(/^Mon–Fri 08:00–20:00 · Sat, Sun closed \(/);
    await expect(voice.locator('.channel-why')).toHaveText('Closed: 1 in progress, the most allowed.');
    await expect(fact(voice, 'Free slots')).toHaveText('not used by this pacing mode');
    await expect(fact(voice, 'Hours')).toHaveText('Open at all hours');
    const video = view.getByRole('article', { name: 'video' });
    await expect(video.locator('.channel-why')).toHaveText('Closed: the last capacity report is older than 5 s.', {
      timeout: 15_000,
    });
    await expect(video.locator('.flag-stale')).toHaveText('stale: older than 5 s');
    await expect(fact(video, 'Free slots')).toHaveText(/^2 free, reported \d+ s ago/);

    // The form beside the list, as an operator editing a channel sees it.
    await chat.getByRole('button', { name: 'Edit chat' }).click();
    await expect(view.getByRole('heading', { name: 'Edit chat' })).toBeFocused();
    expect(await axe(view)).toEqual([]);
    await view.mouse.move(0, 0);
    await view.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const shot = 'test-results/console-channels.png';
    await view.screenshot({ path: shot, fullPage: true });
    if (process.env.BECKON_DOC_IMAGES) {
      const images = fileURLToPath(new URL('../docs/images/', import.meta.url));
      mkdirSync(images, { recursive: true });
      copyFileSync(shot, `${images}console-channels.png`);
    }
    expect(violations).toEqual([]);
    await Promise.all([visitor.close(), view.context().close()]);
  } finally {
    await beckon.stop('SIGTERM');
  }
});
