/** The fields of every event the core describes, and the event as callers receive it. */
import { describe, expect, it } from 'vitest';
import type { Engagement } from '../protocol/index.js';
import {
  attemptEvent,
  attemptEventType,
  businessEventOf,
  erasureEventOf,
  identityEventOf,
  pageEvent,
  toBeckonEvent,
  visitEvent,
} from './events.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);

const attempt = (fields: Partial<Engagement>): Engagement => ({
  interactionId: 'ixn-1',
  visitId: 'visit-1',
  pageId: null,
  shownPageId: null,
  state: 'pending',
  channels: ['chat', 'voice'],
  channel: null,
  reason: null,
  invitation: {},
  timeoutSeconds: 30,
  expirationSeconds: 30,
  userData: { basket: 3 },
  extras: {},
  createdAt: new Date(T0).toISOString(),
  expiresAt: new Date(T0 + 30_000).toISOString(),
  timeoutAt: null,
  transitions: { pending: new Date(T0).toISOString() },
  ...fields,
});

describe('attempt events', () => {
  it('are typed by the state the attempt entered', () => {
    expect(attemptEventType('timed_out')).toBe('engagement.timed_out');
    expect(attemptEvent(attempt({ state: 'delivered' }), T0).type).toBe('engagement.delivered');
  });

  it('carry the page the invitation is shown on, else the page the caller named', () => {
    const accepted = attemptEvent(
      attempt({ state: 'accepted', pageId: 'named', shownPageId: 'shown', channel: 'voice' }),
      T0 + 5000,
    );
    expect(accepted).toEqual({
      type: 'engagement.accepted',
      at: T0 + 5000,
      interactionId: 'ixn-1',
      visitId: 'visit-1',
      pageId: 'shown',
      channel: 'voice',
      reason: null,
      userData: { basket: 3 },
      name: null,
      data: {},
    });
    expect(attemptEvent(attempt({ pageId: 'named' }), T0).pageId).toBe('named');
    const cancelled = attemptEvent(attempt({ state: 'cancelled', reason: 'pacing' }), T0);
    expect(cancelled).toMatchObject({ pageId: null, reason: 'pacing', channel: null });
  });
});

describe('visit and page events', () => {
  it('name the visit (and page) and leave every attempt field empty', () => {
    expect(visitEvent('visit.ended', 'visit-1', T0)).toEqual({
      type: 'visit.ended',
      at: T0,
      interactionId: null,
      visitId: 'visit-1',
      pageId: null,
      channel: null,
      reason: null,
      userData: {},
      name: null,
      data: {},
    });
    expect(pageEvent('page.left', 'visit-1', 'page-2', T0)).toEqual({
      type: 'page.left',
      at: T0,
      interactionId: null,
      visitId: 'visit-1',
      pageId: 'page-2',
      channel: null,
      reason: null,
      userData: {},
      name: null,
      data: {},
    });
  });
});

describe('visitor context events', () => {
  it('carry a business event in name and data, and nothing of an attempt', () => {
    expect(businessEventOf({ visitId: 'v', pageId: 'p', name: 'cart', data: { total: 120 } }, T0)).toEqual({
      type: 'page.event',
      at: T0,
      interactionId: null,
      visitId: 'v',
      pageId: 'p',
      channel: null,
      reason: null,
      userData: {},
      name: 'cart',
      data: { total: 120 },
    });
  });

  it('carry the identity after a sign-in or user info, and nothing after a sign-out', () => {
    const identity = { userId: 'u-1', verified: true, traits: { tier: 'gold' } };
    expect(identityEventOf('v', 'p', identity, T0)).toMatchObject({
      type: 'visit.identified',
      visitId: 'v',
      pageId: 'p',
      name: null,
      data: { userId: 'u-1', verified: true, traits: { tier: 'gold' } },
    });
    expect(identityEventOf('v', null, null, T0)).toMatchObject({ type: 'visit.signed_out', pageId: null, data: {} });
  });

  it('record an erasure by its counts alone, naming no visit or page', () => {
    const counts = { visits: 2, pages: 5, events: 40, attempts: 1 };
    expect(erasureEventOf(counts, T0)).toMatchObject({
      type: 'visitor.erased',
      visitId: null,
      pageId: null,
      interactionId: null,
      data: counts,
    });
  });
});

describe('the event as callers receive it', () => {
  it('keeps every field and gives the time in ISO 8601', () => {
    const logged = { ...attemptEvent(attempt({ state: 'declined', shownPageId: 'p' }), T0 + 1234), id: 'e-7', seq: 7 };
    expect(toBeckonEvent(logged)).toEqual({
      id: 'e-7',
      seq: 7,
      type: 'engagement.declined',
      at: '2026-06-01T09:00:01.234Z',
      interactionId: 'ixn-1',
      visitId: 'visit-1',
      pageId: 'p',
      channel: null,
      reason: null,
      userData: { basket: 3 },
      name: null,
      data: {},
    });
  });
});
