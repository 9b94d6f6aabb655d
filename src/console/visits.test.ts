import { describe, expect, it } from 'vitest';
import type { VisitCaps } from '../protocol/engagement.js';
import { capNote, identityNote, inviteProfile, pairsText, readInviteForm, readVisits } from './visits.js';

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

describe('who the visitor is and what they did', () => {
  const identity = {
    userId: 'c-42',
    verified: true,
    traits: { tier: 'gold', orders: 3 },
    at: '2026-12-02T10:00:00.000Z',
  };
  const event = { name: 'cart.updated', data: { total: 120 }, at: '2026-12-02T10:01:00.000Z', pageId: 'p1' };

  it('keeps a visit’s identity and its business events, and reads none from what is not one', () => {
    const [kept] = readVisits({ visits: [visit('a', '2026-12-02T09:00:00.000Z', { identity, events: [event] })] });
    expect(kept!.identity).toEqual(identity);
    expect(kept!.events).toEqual([event]);
    const [odd] = readVisits({
      visits: [visit('b', '2026-12-02T09:00:00.000Z', { identity: 'c-42', events: [null, { name: 1 }, event, 'x'] })],
    });
    expect(odd!.identity).toBeNull();
    expect(odd!.events).toEqual([event]);
    // A server that does not send them yet: no identity, no events.
    const [older] = readVisits({ visits: [visit('c', '2026-12-02T09:00:00.000Z')] });
    expect(older).toMatchObject({ identity: null, events: [] });
    // A verified mark is only believed when it is exactly true.
    const [doubtful] = readVisits({
      visits: [visit('d', '2026-12-02T09:00:00.000Z', { identity: { ...identity, verified: 'yes', traits: [1] } })],
    });
    expect(doubtful!.identity).toMatchObject({ userId: 'c-42', verified: false, traits: {} });
  });

  it('says who signed in, whether the site vouched for it, and the traits', () => {
    expect(identityNote(identity)).toEqual({
      who: 'c-42',
      verified: true,
      mark: 'verified',
      traits: 'tier=gold · orders=3',
    });
    expect(identityNote({ ...identity, verified: false })).toMatchObject({ verified: false, mark: 'not verified' });
    expect(identityNote({ ...identity, userId: null, verified: false, traits: { plan: 'trial' } })).toEqual({
      who: 'anonymous',
      verified: false,
      mark: '',
      traits: 'plan=trial',
    });
    expect(identityNote(null)).toBeNull();
  });

  it('writes data as key=value pairs, the first six of them', () => {
    expect(pairsText({ a: 'text', b: 1.5, c: false })).toBe('a=text · b=1.5 · c=false');
    expect(pairsText({})).toBe('');
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, n) => [`k${n}`, n]));
    expect(pairsText(many)).toBe('k0=0 · k1=1 · k2=2 · k3=3 · k4=4 · k5=5 · +2 more');
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
