/**
 * `<beckon-invite>` drawn in a real Chromium, connected over a real
 * WebSocket to a real Beckon (see src/widget/test/beckon-server.setup.ts).
 * Invitations are started by the REST API, as a strategy would.
 */
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { commands, userEvent } from 'vitest/browser';
import type { BeckonEventDetails, BeckonIDs } from '../../protocol/page-api.js';
import { LANGUAGES, stringsFor } from '../strings.js';
import './define.js';
import type { BeckonInvite } from './beckon-invite.js';

const server = inject('beckonUrl');
let counter = 0;
const newId = (label: string) => `ct-${label}-${Date.now()}-${++counter}`;

let element: BeckonInvite;
let ids: BeckonIDs;

/** Mounts a fresh element (a fresh visit: no stored token) and waits for its ids. */
async function mount(attributes: Record<string, string> = {}, children = ''): Promise<BeckonInvite> {
  const el = document.createElement('beckon-invite');
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  el.innerHTML = children;
  const ready = nextEvent('beckon:ready');
  el.server = server;
  document.body.append(el);
  element = el;
  ids = (await ready).detail;
  return el;
}

function nextEvent<K extends keyof BeckonEventDetails>(
  type: K,
  target: EventTarget = window,
): Promise<CustomEvent<BeckonEventDetails[K]>> {
  return new Promise((resolve) =>
    target.addEventListener(type, (e) => resolve(e as CustomEvent<BeckonEventDetails[K]>), { once: true }),
  );
}

const shadow = () => element.shadowRoot!;
const part = (name: string) => shadow().querySelector<HTMLElement>(`[part~="${name}"]`);
const card = () => part('card');
const waitForCard = () => vi.waitFor(() => expect(card()).not.toBeNull(), { timeout: 10_000 });
const waitForNoCard = () => vi.waitFor(() => expect(card()).toBeNull(), { timeout: 10_000 });
const stateOf = async (id: string) => (await commands.engagement(server, id)).body.state;

async function engage(profile: Record<string, unknown> = {}): Promise<string> {
  const interactionId = newId('x');
  const reply = await commands.engage(server, { interactionId, visitId: ids.visitId, ...profile });
  expect(reply.body, JSON.stringify(reply.body)).toMatchObject({ status: 'OK' });
  return interactionId;
}

beforeEach(() => {
  localStorage.clear();
  document.documentElement.lang = 'en';
});

afterEach(() => {
  element?.remove();
});

describe('the invitation card', () => {
  it('is a non-modal dialog named by its title and described by its message, with a part for each piece', async () => {
    await mount();
    await engage({
      channels: ['chat', 'callback'],
      invitation: { title: 'Need a hand?', message: 'An outfitter is online.', imageUrl: '/avatar.png' },
    });
    await waitForCard();
    const dialog = card()!;
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(dialog.hasAttribute('aria-modal')).toBe(false);
    expect(shadow().getElementById(dialog.getAttribute('aria-labelledby')!)!.textContent).toBe('Need a hand?');
    expect(shadow().getElementById(dialog.getAttribute('aria-describedby')!)!.textContent).toBe(
      'An outfitter is online.',
    );
    for (const name of [
      'head',
      'image',
      'title',
      'message',
      'actions',
      'accept-chat',
      'accept-callback',
      'decline',
      'close',
    ]) {
      expect(part(name), name).not.toBeNull();
    }
    expect(shadow().querySelectorAll('[part~="accept"]')).toHaveLength(2);
    // Every control a real button with a name and at least a 24×24 px target.
    const buttons = [...shadow().querySelectorAll('button')];
    expect(buttons.map((b) => b.getAttribute('part')!.split(' ')[0])).toEqual(['button', 'button', 'button', 'button']);
    for (const button of buttons) {
      const box = button.getBoundingClientRect();
      expect(box.width).toBeGreaterThanOrEqual(24);
      expect(box.height).toBeGreaterThanOrEqual(24);
      expect((button.getAttribute('aria-label') ?? button.textContent)!.trim()).not.toBe('');
    }
    expect(part('close')!.getAttribute('aria-label')).toBe('Close');
  });

  it('never takes focus when it arrives', async () => {
    const input = document.createElement('input');
    document.body.append(input);
    input.focus();
    await mount();
    await engage();
    await waitForCard();
    expect(document.activeElement).toBe(input);
    expect(shadow().activeElement).toBeNull();
    input.remove();
  });

  it('is announced once through a polite live region, and the announcement goes with the card', async () => {
    await mount();
    const status = shadow().querySelector('[role="status"]')!;
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.textContent!.trim()).toBe('');
    const id = await engage({ invitation: { title: 'Need a hand?', message: 'An outfitter is online.' } });
    await waitForCard();
    expect(status.textContent!.trim()).toBe('Invitation: Need a hand? An outfitter is online.');
    const changes: MutationRecord[] = [];
    const observer = new MutationObserver((records) => changes.push(...records));
    observer.observe(status, { childList: true, characterData: true, subtree: true });
    element.requestUpdate();
    await element.updateComplete;
    expect(changes).toHaveLength(0);
    observer.disconnect();
    await element.decline();
    await element.updateComplete;
    expect(status.textContent!.trim()).toBe('');
    expect(await stateOf(id)).toBe('declined');
  });

  it('renders markup in the invitation as text', async () => {
    await mount();
    await engage({ invitation: { title: '<b>bold</b>', message: '<img src=x onerror="window.__pwned=1">' } });
    await waitForCard();
    expect(part('title')!.textContent).toBe('<b>bold</b>');
    expect(shadow().querySelectorAll('b, img[src="x"]')).toHaveLength(0);
    expect((window as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('Escape declines when focus is inside the card', async () => {
    await mount();
    const id = await engage();
    await waitForCard();
    part('decline')!.focus();
    const declined = nextEvent('beckon:declined');
    await userEvent.keyboard('{Escape}');
    expect((await declined).detail).toEqual({ interactionId: id });
    await waitForNoCard();
    await vi.waitFor(async () => expect(await stateOf(id)).toBe('declined'));
  });

  it('shows slotted content only with the card, and the image slot replaces the picture', async () => {
    await mount(
      {},
      '<p id="note">Open 9–17</p><span slot="image" id="logo">★</span><a slot="footer" href="#p">Privacy</a>',
    );
    const note = document.getElementById('note')!;
    expect(note.getClientRects()).toHaveLength(0);
    await engage({ invitation: { imageUrl: '/avatar.png' } });
    await waitForCard();
    expect(note.getClientRects().length).toBeGreaterThan(0);
    expect(note.assignedSlot?.name).toBe('');
    expect(document.getElementById('logo')!.assignedSlot?.name).toBe('image');
    expect(document.querySelector('[slot=footer]')!.assignedSlot?.name).toBe('footer');
    // The profile's picture is the slot's fallback: present, but not drawn.
    expect(part('image')!.getClientRects()).toHaveLength(0);
    expect(document.getElementById('logo')!.getClientRects().length).toBeGreaterThan(0);
  });

  it('sits in a corner by default and in the flow with position="inline"', async () => {
    await mount();
    await engage();
    await waitForCard();
    let style = getComputedStyle(card()!);
    expect(style.position).toBe('fixed');
    expect(style.right).toBe('16px');
    expect(style.bottom).toBe('16px');
    element.position = 'top-left';
    await element.updateComplete;
    style = getComputedStyle(card()!);
    expect([style.top, style.left]).toEqual(['16px', '16px']);
    element.position = 'inline';
    await element.updateComplete;
    expect(getComputedStyle(card()!).position).toBe('relative');
    expect(getComputedStyle(element).display).toBe('block');
  });

  it('takes its look from --beckon-* custom properties', async () => {
    await mount();
    element.style.setProperty('--beckon-accent-color', 'rgb(1, 2, 3)');
    element.style.setProperty('--beckon-radius', '3px');
    element.style.setProperty('--beckon-spacing', '20px');
    element.style.setProperty('--beckon-shadow', 'none');
    element.style.setProperty('--beckon-z-index', '7');
    await engage();
    await waitForCard();
    const style = getComputedStyle(card()!);
    expect([style.borderRadius, style.paddingTop, style.boxShadow, style.zIndex]).toEqual(['3px', '20px', 'none', '7']);
    expect(getComputedStyle(part('accept')!).backgroundColor).toBe('rgb(1, 2, 3)');
  });
});

describe('locales', () => {
  const labels = async () => [
    part('title')!.textContent,
    part('accept-chat')!.textContent!.trim(),
    part('decline')!.textContent!.trim(),
    part('close')!.getAttribute('aria-label'),
  ];

  it.each(LANGUAGES)('the profile locale %s picks the built-in words', async (language) => {
    await mount();
    await engage({ invitation: { locale: language } });
    await waitForCard();
    const words = stringsFor(language);
    expect(await labels()).toEqual([words.title, words.accept.chat, words.decline, words.close]);
    expect(card()!.getAttribute('lang')).toBe(language);
    expect(shadow().querySelector('[role="status"]')!.textContent).toContain(words.announce);
  });

  it("without one, the element's lang, then <html lang>, then the browser; unknown ones fall through", async () => {
    await mount({ lang: 'de-CH' });
    await engage({ invitation: { locale: 'it' } });
    await waitForCard();
    expect(part('title')!.textContent).toBe('Können wir helfen?');
    element.remove();

    localStorage.clear();
    document.documentElement.lang = 'es-MX';
    await mount();
    await engage();
    await waitForCard();
    expect(part('title')!.textContent).toBe('¿Podemos ayudarle?');
    element.remove();

    localStorage.clear();
    document.documentElement.lang = 'pt';
    await mount({ lang: 'zz' });
    await engage();
    await waitForCard();
    // Headless Chromium speaks en-US; English is also the last resort.
    expect(part('title')!.textContent).toBe('Can we help?');
  });
});

describe('events and the page API', () => {
  it('beckon:ready gives the ids, and getIDs() and window.Beckon agree', async () => {
    const ready = nextEvent('beckon:ready');
    await mount();
    const event = await ready;
    expect(event.bubbles && event.composed).toBe(true);
    expect(Object.keys(event.detail).sort()).toEqual(['globalVisitId', 'pageId', 'visitId']);
    expect(await element.getIDs()).toEqual(event.detail);
    expect(await window.Beckon!.getIDs()).toEqual(event.detail);
    expect(Object.isFrozen(window.Beckon)).toBe(true);
  });

  it('a cancelled beckon:invite draws nothing; the site answers through window.Beckon and gets beckon:accepted', async () => {
    await mount();
    const invite = nextEvent('beckon:invite');
    const cancel = (e: Event) => e.preventDefault();
    window.addEventListener('beckon:invite', cancel, { once: true });
    const id = await engage({ channels: ['chat', 'callback'], userData: { basket: 3 } });
    const offer = (await invite).detail;
    expect(offer).toMatchObject({ interactionId: id, channels: ['chat', 'callback'], userData: { basket: 3 } });
    await element.updateComplete;
    expect(card()).toBeNull();
    expect(shadow().querySelector('[role="status"]')!.textContent!.trim()).toBe('');
    // Shown counts once the site had it: delivered.
    await vi.waitFor(async () => expect(await stateOf(id)).toBe('delivered'));
    await expect(window.Beckon!.accept('voice')).rejects.toThrow(/not offered/);
    const accepted = nextEvent('beckon:accepted');
    await window.Beckon!.accept('callback');
    const event = await accepted;
    expect(event.bubbles && event.composed).toBe(true);
    expect(event.detail).toEqual({ interactionId: id, channel: 'callback', userData: { basket: 3 } });
    expect((await commands.engagement(server, id)).body).toMatchObject({ state: 'accepted', channel: 'callback' });
    await expect(window.Beckon!.decline()).rejects.toThrow(/no invitation/);
  });

  it('the built-in card reports a click on an accept button', async () => {
    await mount();
    const id = await engage({ channels: ['chat'] });
    await waitForCard();
    const accepted = nextEvent('beckon:accepted', element);
    part('accept-chat')!.click();
    expect((await accepted).detail).toMatchObject({ interactionId: id, channel: 'chat' });
    await waitForNoCard();
    await vi.waitFor(async () => expect(await stateOf(id)).toBe('accepted'));
  });

  it('beckon:withdrawn when the caller cancels', async () => {
    await mount();
    const id = await engage();
    await waitForCard();
    await vi.waitFor(async () => expect(await stateOf(id)).toBe('delivered'));
    const withdrawn = nextEvent('beckon:withdrawn');
    await commands.noengage(server, { interactionId: id });
    expect((await withdrawn).detail).toEqual({ interactionId: id, state: 'cancelled' });
    await waitForNoCard();
  });

  it('beckon:timeout when the time runs out', async () => {
    await mount();
    const timeout = nextEvent('beckon:timeout');
    const id = await engage({ timeoutSeconds: 5 });
    await waitForCard();
    expect((await timeout).detail).toEqual({ interactionId: id });
    await waitForNoCard();
    await vi.waitFor(async () => expect(await stateOf(id)).toBe('timed_out'));
  });

  it("beckon:timeout also when the server's deadline comes before this page's timer", async () => {
    await mount();
    // The page's timers stand still (as a throttled background tab's may): only the server can end it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const timeout = nextEvent('beckon:timeout');
      const id = await engage({ timeoutSeconds: 5 });
      await vi.waitFor(() => expect(card()).not.toBeNull(), { timeout: 10_000, interval: 50 });
      expect((await timeout).detail).toEqual({ interactionId: id });
      expect(card()).toBeNull();
      expect(await stateOf(id)).toBe('timed_out');
    } finally {
      vi.useRealTimers();
    }
  });

  it('optOut() withdraws what is showing, and engage then answers VISITOR_OPTED_OUT until optIn()', async () => {
    await mount();
    expect(await window.Beckon!.isOptedOut()).toBe(false);
    const id = await engage();
    await waitForCard();
    const withdrawn = nextEvent('beckon:withdrawn');
    await window.Beckon!.optOut();
    expect((await withdrawn).detail).toEqual({ interactionId: id, state: 'declined' });
    await waitForNoCard();
    expect(await window.Beckon!.isOptedOut()).toBe(true);
    const refused = await commands.engage(server, { interactionId: newId('out'), visitId: ids.visitId });
    expect(refused.body).toMatchObject({ status: 'FAULT', code: 'VISITOR_OPTED_OUT' });
    await window.Beckon!.optIn();
    expect(await window.Beckon!.isOptedOut()).toBe(false);
    await engage();
    await waitForCard();
  });

  it('an opted-out browser stays opted out on its next page load', async () => {
    await mount();
    await window.Beckon!.optOut();
    element.remove();
    // Same browser (the stored visit token), new page.
    await mount();
    expect(await window.Beckon!.isOptedOut()).toBe(true);
    await window.Beckon!.optIn();
  });
});
