import { describe, expect, it } from 'vitest';
import type { Engagement } from '../protocol/engagement.js';
import {
  isSettled,
  readStoredAttempts,
  stateOfEvent,
  timeline,
  withEvent,
  withRecord,
  type Attempt,
  type EngagementEvent,
} from './attempts.js';

const started: Attempt = {
  interactionId: 'i1',
  visitId: 'v1',
  title: 'Looking for a pack?',
  startedAt: '2026-12-02T10:00:00.000Z',
  state: 'pending',
  record: null,
};

const event = (type: string, at: string, extra: Partial<EngagementEvent> = {}): EngagementEvent => ({
  type,
  at,
  pageId: null,
  channel: null,
  reason: null,
  ...extra,
});

/** A record as GET /gateway/engagements/{id} answers it. */
const record = (
  state: Engagement['state'],
  transitions: Engagement['transitions'],
  extra: Partial<Engagement> = {},
) => ({
  interactionId: 'i1',
  visitId: 'v1',
  pageId: null,
  shownPageId: null,
  state,
  channels: ['chat'],
  channel: null,
  reason: null,
  invitation: { title: 'Looking for a pack?' },
  timeoutSeconds: 30,
  expirationSeconds: 30,
  userData: {},
  extras: {},
  createdAt: '2026-12-02T10:00:00.000Z',
  expiresAt: '2026-12-02T10:00:30.000Z',
  timeoutAt: null,
  transitions,
  ...extra,
});

describe('an attempt followed by events', () => {
  it('moves forward with each engagement event, noting what the event said', () => {
    const delivered = withEvent(started, event('engagement.delivered', '2026-12-02T10:00:01.000Z', { pageId: 'p1' }))!;
    expect(delivered.state).toBe('delivered');
    expect(delivered.record).toMatchObject({
      state: 'delivered',
      shownPageId: 'p1',
      transitions: { delivered: '2026-12-02T10:00:01.000Z' },
    });
    const accepted = withEvent(
      delivered,
      event('engagement.accepted', '2026-12-02T10:00:03.000Z', { channel: 'callback' }),
    )!;
    expect(accepted.state).toBe('accepted');
    expect(accepted.record).toMatchObject({ state: 'accepted', channel: 'callback', shownPageId: 'p1' });
    expect(accepted.steps?.accepted).toEqual({
      at: '2026-12-02T10:00:03.000Z',
      pageId: null,
      channel: 'callback',
      reason: null,
    });
    expect(isSettled(accepted)).toBe(true);
  });

  it('never rolls back: a late event about an earlier step is noted, the state stays', () => {
    const declined = withRecord(started, record('declined', { pending: '2026-12-02T10:00:00.000Z' }))!;
    const late = withEvent(declined, event('engagement.delivered', '2026-12-02T10:00:01.000Z', { pageId: 'p1' }))!;
    expect(late.state).toBe('declined');
    expect(late.record).toBe(declined.record);
    expect(late.steps?.delivered?.pageId).toBe('p1');
  });

  it('ignores visit and page events, and engagement types it does not know', () => {
    expect(withEvent(started, event('page.entered', '2026-12-02T10:00:01.000Z'))).toBeNull();
    expect(withEvent(started, event('engagement.reopened', '2026-12-02T10:00:01.000Z'))).toBeNull();
    expect(stateOfEvent('engagement.timed_out')).toBe('timed_out');
    expect(stateOfEvent('visit.ended')).toBeNull();
  });
});

describe('an attempt read again from the server', () => {
  it('takes a newer record, and changes nothing for the same record or an older one', () => {
    const delivered = withRecord(started, record('delivered', { pending: '2026-12-02T10:00:00.000Z' }))!;
    expect(delivered.state).toBe('delivered');
    expect(withRecord(delivered, structuredClone(delivered.record))).toBeNull();
    // Two reads crossed on the wire: the older answer must not undo what was shown.
    expect(withRecord(delivered, record('pending', {}))).toBeNull();
    expect(withRecord(delivered, record('expired', {}))?.state).toBe('expired');
  });

  it('refuses what is not a record', () => {
    for (const body of [null, 'accepted', { state: 'lost' }, { status: 'FAULT' }]) {
      expect(withRecord(started, body)).toBeNull();
    }
  });

  it('is settled once the server no longer knows it', () => {
    expect(isSettled({ ...started, gone: { status: 'FAULT', code: 'UNKNOWN_ENGAGEMENT', message: 'gone' } })).toBe(
      true,
    );
    expect(isSettled(started)).toBe(false);
  });
});

describe('the timeline of an attempt', () => {
  it('lists transitions in the order they happened, each with its delay and what its event said', () => {
    const attempt: Attempt = {
      ...started,
      state: 'accepted',
      record: record(
        'accepted',
        {
          accepted: '2026-12-02T10:00:02.500Z',
          pending: '2026-12-02T10:00:00.000Z',
          delivered: '2026-12-02T10:00:00.191Z',
        },
        { shownPageId: 's5_UEXgryLKMaeCz0HTiQg' },
      ),
      steps: { accepted: { at: '2026-12-02T10:00:02.500Z', pageId: null, channel: 'chat', reason: null } },
    };
    expect(timeline(attempt)).toEqual([
      { state: 'pending', at: '2026-12-02T10:00:00.000Z', after: 0, notes: [] },
      // Shown before this console listed the attempt: the page comes from the record.
      { state: 'delivered', at: '2026-12-02T10:00:00.191Z', after: 191, notes: ['on page s5_UEXgr…'] },
      { state: 'accepted', at: '2026-12-02T10:00:02.500Z', after: 2500, notes: ['channel chat'] },
    ]);
  });

  it('orders transitions of the same moment by the lifecycle, and drops what is not a time', () => {
    const at = '2026-12-02T10:00:00.000Z';
    const attempt: Attempt = {
      ...started,
      record: record('cancelled', { cancelled: at, pending: at, delivered: 'soon' }),
    };
    expect(timeline(attempt).map((step) => step.state)).toEqual(['pending', 'cancelled']);
  });

  it('is empty before anything is known', () => {
    expect(timeline(started)).toEqual([]);
  });
});

describe('attempts kept in the tab', () => {
  it('are read back as far as they can be', () => {
    expect(readStoredAttempts(JSON.stringify([started, null, { title: 'no id' }]))).toEqual([started]);
    expect(readStoredAttempts('{not json')).toEqual([]);
    expect(readStoredAttempts(null)).toEqual([]);
    expect(readStoredAttempts('{"interactionId":"i1"}')).toEqual([]);
  });
});
