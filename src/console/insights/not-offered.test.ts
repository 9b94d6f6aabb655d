import { describe, expect, it } from 'vitest';
import { NARROWED, countOf, notOfferedLines, notOfferedSummary } from './not-offered.js';
import { readReport } from './report.js';

describe('why not offered', () => {
  it('reads refusals per FAULT code and narrowed invitations from the report, totals and buckets', () => {
    const report = readReport({
      totals: { refused: { NO_CAPACITY: 2, VISITOR_CAPPED: 1, UNKNOWN_VISIT: -1, BOGUS: 'x' }, narrowed: 3 },
      buckets: [
        { start: '2026-12-02T09:00:00Z', refused: { NO_CAPACITY: 2 }, narrowed: 1 },
        { start: '2026-12-02T10:00:00Z' },
      ],
    });
    expect(report.totals.refused).toEqual({ NO_CAPACITY: 2, VISITOR_CAPPED: 1, UNKNOWN_VISIT: 0, BOGUS: 0 });
    expect(report.totals.narrowed).toBe(3);
    expect(report.buckets.map((b) => [b.refused, b.narrowed])).toEqual([
      [{ NO_CAPACITY: 2 }, 1],
      [{}, 0],
    ]);
  });

  it('shows every known reason in the operator’s words, any other code as it is, then narrowed', () => {
    const lines = notOfferedLines([{ refused: { NO_CAPACITY: 1, SOMETHING_NEW: 2 } }, { refused: { ANOTHER: 1 } }]);
    expect(lines.map((line) => [line.label, line.code])).toEqual([
      ['No capacity', 'NO_CAPACITY'],
      ['Capped', 'VISITOR_CAPPED'],
      ['In progress', 'ENGAGEMENT_IN_PROGRESS'],
      ['Opted out', 'VISITOR_OPTED_OUT'],
      ['Unknown visit', 'UNKNOWN_VISIT'],
      ['ANOTHER', 'ANOTHER'],
      ['SOMETHING_NEW', 'SOMETHING_NEW'],
      ['Narrowed to fewer channels', null],
    ]);
    const figures = { refused: { NO_CAPACITY: 4 }, narrowed: 2 };
    expect(lines.map((line) => countOf(line, figures))).toEqual([4, 0, 0, 0, 0, 0, 0, 2]);
    expect(countOf(NARROWED, figures)).toBe(2);
  });

  it('sums it up in a sentence', () => {
    expect(notOfferedSummary({ refused: { NO_CAPACITY: 2, VISITOR_CAPPED: 1, UNKNOWN_VISIT: 0 }, narrowed: 1 })).toBe(
      '3 engages refused (2 no capacity, 1 capped) and 1 narrowed to fewer channels.',
    );
    expect(notOfferedSummary({ refused: { SOMETHING_NEW: 1 }, narrowed: 0 })).toBe(
      '1 engage refused (1 SOMETHING_NEW) and 0 narrowed to fewer channels.',
    );
    expect(notOfferedSummary({ refused: {}, narrowed: 2 })).toBe('No engage refused and 2 narrowed to fewer channels.');
    expect(notOfferedSummary({ refused: { NO_CAPACITY: 0 }, narrowed: 0 })).toBe(
      'Every engage in this range was offered as asked.',
    );
  });
});
