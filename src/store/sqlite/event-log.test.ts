/**
 * The SQLite event log's ids and bodies: ids are UUIDs that grow with time
 * (so that the id index is written at its end), and a body is the event as
 * sent, less its position.
 */
import { describe, expect, it } from 'vitest';
import { attemptEvent, toBeckonEvent, type EventDraft } from '../../core/events.js';
import { eventBody, eventId } from './event-log.js';

describe('sqlite event log', () => {
  it('gives each event a distinct version 7 UUID that sorts by time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => eventId(1_700_000_000_000 + Math.floor(i / 10)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Ids of later milliseconds sort after those of earlier ones.
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 1]! < ids[i]!).toBe(true);
    expect(eventId(0).startsWith('00000000-0000-7')).toBe(true);
  });

  it('stores the event as sent, every field but its position, in the same order', () => {
    const drafts: EventDraft[] = [
      {
        type: 'engagement.pending',
        at: Date.UTC(2026, 0, 1, 12),
        interactionId: 'i',
        visitId: 'v',
        pageId: null,
        channel: null,
        reason: null,
        userData: { plan: 'gold', n: 2, ok: true },
        name: null,
        data: {},
      },
      { ...attemptEvent(engagementFixture(), 5), type: 'engagement.declined' },
      {
        type: 'page.event',
        at: 7,
        interactionId: null,
        visitId: 'v',
        pageId: 'p',
        channel: 'chat',
        reason: 'r',
        userData: {},
        name: 'viewed',
        data: { sku: 'x"y' },
      },
    ];
    for (const draft of drafts) {
      const id = eventId();
      const sent = toBeckonEvent({ ...draft, id, seq: 0 });
      expect(eventBody(draft, id)).toBe(JSON.stringify({ ...sent, seq: undefined }));
    }
  });
});

function engagementFixture(): Parameters<typeof attemptEvent>[0] {
  return {
    interactionId: 'i2',
    visitId: 'v2',
    pageId: 'p2',
    shownPageId: 'p3',
    state: 'declined',
    channels: ['chat'],
    channel: 'chat',
    reason: 'busy',
    invitation: {},
    timeoutSeconds: 30,
    expirationSeconds: 60,
    userData: { a: 1 },
    extras: {},
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:01:00.000Z',
    timeoutAt: null,
    transitions: {},
  } as Parameters<typeof attemptEvent>[0];
}
