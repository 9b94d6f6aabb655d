import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, parseEventTypes } from './events.js';

describe('event type filters', () => {
  it('lists the fifteen event types of docs/events.md, engagement transitions first', () => {
    expect(EVENT_TYPES).toEqual([
      'engagement.pending',
      'engagement.delivered',
      'engagement.accepted',
      'engagement.declined',
      'engagement.timed_out',
      'engagement.cancelled',
      'engagement.expired',
      'visit.started',
      'page.entered',
      'page.left',
      'visit.ended',
      'page.event',
      'visit.identified',
      'visit.signed_out',
      'visitor.erased',
    ]);
  });

  it('expands families and keeps exact types, in lifecycle order, without duplicates', () => {
    expect(parseEventTypes('page.*, engagement.accepted,page.left')).toEqual({
      types: ['engagement.accepted', 'page.entered', 'page.left', 'page.event'],
    });
    expect(parseEventTypes('visit.*')).toEqual({
      types: ['visit.started', 'visit.ended', 'visit.identified', 'visit.signed_out'],
    });
    expect(parseEventTypes('visitor.*')).toEqual({ types: ['visitor.erased'] });
  });

  it('names the first item that selects nothing', () => {
    expect(parseEventTypes('engagement.accepted,engagement.won')).toEqual({ unknown: 'engagement.won' });
    expect(parseEventTypes('*')).toEqual({ unknown: '*' });
    expect(parseEventTypes('visits.*')).toEqual({ unknown: 'visits.*' });
    expect(parseEventTypes(' , ')).toEqual({ unknown: '' });
  });
});
