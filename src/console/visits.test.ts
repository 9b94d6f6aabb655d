import { describe, expect, it } from 'vitest';
import type { VisitCaps } from '../protocol/engagement.js';
import { capNote, inviteProfile, readInviteForm, readVisits } from './visits.js';

const visit = (visitId: string, startedAt: string, extra: Record<string, unknown> = {}) => ({
  visitId,
  globalVisitId: `g-${visitId}`,
  startedAt,
  pages: [],
  activeInteractionId: null,
  caps: null,
  ...extra,
});

describe('the visit list', () => {
  it('lists the newest visit first and gives every visit a list of pages', () => {
    const visits = readVisits({
      visits: [
        visit('old', '2026-12-02T09:00:00.000Z'),
        visit('new', '2026-12-02T10:00:00.000Z', { pages: 'not a list' }),
      ],
    });
    expect(visits.map((v) => v.visitId)).toEqual(['new', 'old']);
    expect(visits[0]!.pages).toEqual([]);
  });

  it('reads nothing from a body that is not a list of visits', () => {
    for (const body of [null, 'text', {}, { visits: {} }]) expect(readVisits(body)).toEqual([]);
  });
});

describe('frequency caps beside a visit', () => {
  const caps = (extra: Partial<VisitCaps>): VisitCaps => ({
    shownLast24Hours: 2,
    perDay: 3,
    quietUntil: null,
    capped: null,
    retryAfter: null,
    ...extra,
  });

  it('say how many were shown against the daily cap', () => {
    expect(capNote(caps({}))).toEqual({ capped: false, text: '2/3 shown in 24 h' });
  });

  it('say which cap refuses an engage, and until when', () => {
    expect(
      capNote(
        caps({
          capped: 'after-decline',
          retryAfter: '2026-12-02T10:30:00.000Z',
          quietUntil: '2026-12-02T10:30:00.000Z',
        }),
      ),
    ).toEqual({
      capped: true,
      text: 'capped (quiet time after a decline) until ',
      title: 'Engage answers VISITOR_CAPPED (quiet time after a decline)',
      until: '2026-12-02T10:30:00.000Z',
    });
  });

  it('say nothing without caps, or when the daily cap is off and nothing refuses', () => {
    expect(capNote(null)).toBeNull();
    expect(capNote(caps({ perDay: null }))).toBeNull();
  });
});

describe('the engage sent from the invite form', () => {
  const form = (fields: Record<string, string | string[]>) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) data.append(name, v);
    return readInviteForm(data);
  };

  it('carries what was filled in, trimmed', () => {
    const fields = form({
      title: '  Looking for a pack? ',
      message: 'Our outfitters can help.',
      channels: ['chat', 'callback'],
      pageId: 'p1',
      timeoutSeconds: '60',
    });
    expect(inviteProfile(fields, 'v1', 'i1')).toEqual({
      interactionId: 'i1',
      visitId: 'v1',
      pageId: 'p1',
      channels: ['chat', 'callback'],
      invitation: { title: 'Looking for a pack?', message: 'Our outfitters can help.' },
      timeoutSeconds: 60,
    });
  });

  it('leaves out an empty text and "most recently active", so the server’s defaults apply', () => {
    const fields = form({ title: ' ', message: '', channels: 'voice', pageId: '', timeoutSeconds: '30' });
    expect(inviteProfile(fields, 'v1', 'i1')).toEqual({
      interactionId: 'i1',
      visitId: 'v1',
      channels: ['voice'],
      timeoutSeconds: 30,
    });
    expect(inviteProfile({ ...fields, message: 'Hi' }, 'v1', 'i1').invitation).toEqual({ message: 'Hi' });
  });
});
