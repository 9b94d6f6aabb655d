/** Which page shows a visit's invitation, and what that page is told. */
import { describe, expect, it } from 'vitest';
import type { Engagement } from '../protocol/index.js';
import type { PageRecord } from './store.js';
import { byAttention, chooseTarget, toOffer } from './placement.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);

const page = (pageId: string, fields: Partial<PageRecord> = {}): PageRecord => ({
  pageId,
  visitId: 'v',
  url: 'https://shop.test/',
  title: 'Shop',
  visible: false,
  focused: false,
  locale: null,
  connectedAt: T0,
  activeAt: T0,
  closedAt: null,
  ...fields,
});

const attempt = (fields: Partial<Engagement> = {}): Engagement => ({
  interactionId: 'ixn-1',
  visitId: 'v',
  pageId: null,
  shownPageId: null,
  state: 'pending',
  channels: ['chat'],
  channel: null,
  reason: null,
  invitation: { headline: 'Need a hand?' },
  timeoutSeconds: 20,
  expirationSeconds: 30,
  userData: { basket: 2 },
  extras: {},
  createdAt: new Date(T0).toISOString(),
  expiresAt: new Date(T0 + 30_000).toISOString(),
  timeoutAt: null,
  transitions: { pending: new Date(T0).toISOString() },
  ...fields,
});

const order = (pages: PageRecord[]) => [...pages].sort(byAttention).map((p) => p.pageId);

describe('attention order', () => {
  it('puts the page looked at first, then visible pages, then the rest', () => {
    const pages = [
      page('background', { activeAt: T0 + 9000 }),
      page('visible', { visible: true, activeAt: T0 + 1000 }),
      page('looked-at', { visible: true, focused: true }),
    ];
    expect(order(pages)).toEqual(['looked-at', 'visible', 'background']);
    // Focus without visibility (a minimised window) counts for nothing.
    expect(
      order([page('focused-hidden', { focused: true, activeAt: T0 }), page('visible', { visible: true })]),
    ).toEqual(['visible', 'focused-hidden']);
  });

  it('among equals, prefers the most recently active page, then the most recently connected', () => {
    expect(order([page('earlier', { activeAt: T0 + 1 }), page('later', { activeAt: T0 + 2 })])).toEqual([
      'later',
      'earlier',
    ]);
    expect(order([page('later', { activeAt: T0 + 2 }), page('earlier', { activeAt: T0 + 1 })])).toEqual([
      'later',
      'earlier',
    ]);
    expect(order([page('old-tab', { connectedAt: T0 - 5000 }), page('new-tab', { connectedAt: T0 - 10 })])).toEqual([
      'new-tab',
      'old-tab',
    ]);
    expect(order([page('new-tab', { connectedAt: T0 - 10 }), page('old-tab', { connectedAt: T0 - 5000 })])).toEqual([
      'new-tab',
      'old-tab',
    ]);
  });
});

describe('choosing the page', () => {
  const open = [page('front', { visible: true, focused: true }), page('named'), page('shown')];

  it('keeps the invitation where it is while that page is open', () => {
    expect(chooseTarget(attempt({ shownPageId: 'shown', pageId: 'named' }), open)).toBe('shown');
  });

  it('else takes the page the caller named, if open, else the first page in attention order', () => {
    expect(chooseTarget(attempt({ shownPageId: 'closed', pageId: 'named' }), open)).toBe('named');
    expect(chooseTarget(attempt({ shownPageId: 'closed', pageId: 'also-closed' }), open)).toBe('front');
    expect(chooseTarget(attempt({ pageId: 'named' }), [])).toBeNull();
  });
});

describe('the offer a page receives', () => {
  it('before it was ever shown: the whole time on screen', () => {
    expect(toOffer(attempt(), T0 + 25_000)).toEqual({
      interactionId: 'ixn-1',
      channels: ['chat'],
      invitation: { headline: 'Need a hand?' },
      timeoutSeconds: 20,
      remainingMs: 20_000,
      userData: { basket: 2 },
    });
  });

  it('once shown: the time left until its deadline, and nothing when none is left', () => {
    const shown = attempt({ state: 'delivered', timeoutAt: new Date(T0 + 20_000).toISOString() });
    expect(toOffer(shown, T0 + 7500)?.remainingMs).toBe(12_500);
    expect(toOffer(shown, T0 + 19_999)?.remainingMs).toBe(1);
    expect(toOffer(shown, T0 + 20_000)).toBeNull();
    expect(toOffer(shown, T0 + 60_000)).toBeNull();
  });
});
