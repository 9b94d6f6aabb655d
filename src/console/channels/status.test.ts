import { describe, expect, it } from 'vitest';
import { agoText, capacityLine, clockOffset, pacingText, readChannels, readPacing, stateText } from './status.js';

const now = Date.parse('2026-12-02T09:01:00Z');
const progressive = { mode: 'progressive', capacityStaleSeconds: 60 } as const;

describe('a channel as the Channels view tells it', () => {
  it('writes the age of a capacity report in a few characters', () => {
    expect(agoText(400)).toBe('just now');
    expect(agoText(-3000)).toBe('just now');
    expect(agoText(12_400)).toBe('12 s ago');
    expect(agoText(4 * 60_000 + 10)).toBe('4 min ago');
    expect(agoText(3 * 3_600_000)).toBe('3 h ago');
    expect(agoText(3 * 86_400_000)).toBe('3 days ago');
  });

  it('gives free slots with the age of their report, and what accepts since have taken', () => {
    const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
    expect(capacityLine({ freeSlots: 3, reportedAt: at(12), acceptedSinceReport: 0 }, progressive, now)).toEqual({
      text: '3 free, reported 12 s ago',
      stale: false,
    });
    expect(capacityLine({ freeSlots: 3, reportedAt: at(40), acceptedSinceReport: 1 }, progressive, now)).toEqual({
      text: '2 free (3 reported, 1 accepted since), reported 40 s ago',
      stale: false,
    });
    // Older than the channel's stale time: pacing treats it as unknown, and the view says so.
    expect(capacityLine({ freeSlots: 3, reportedAt: at(61), acceptedSinceReport: 0 }, progressive, now)).toEqual({
      text: '3 free, reported 1 min ago',
      stale: true,
    });
    expect(capacityLine({ freeSlots: 3, reportedAt: at(60), acceptedSinceReport: 0 }, progressive, now).stale).toBe(
      false,
    );
    expect(capacityLine({ freeSlots: null, reportedAt: null, acceptedSinceReport: 0 }, progressive, now)).toEqual({
      text: 'no report yet',
      stale: false,
    });
    // Only progressive pacing uses capacity.
    const fixed = { mode: 'fixed', capacityStaleSeconds: 60 } as const;
    expect(capacityLine({ freeSlots: null, reportedAt: null, acceptedSinceReport: 0 }, fixed, now).text).toBe(
      'not used by this pacing mode',
    );
    expect(capacityLine({ freeSlots: 2, reportedAt: at(600), acceptedSinceReport: 0 }, fixed, now)).toEqual({
      text: '2 free, reported 10 min ago (not used by this pacing mode)',
      stale: false,
    });
  });

  it('says why a channel is closed, or how many more it may invite', () => {
    const status = { open: false, reason: null, freeSlots: null, inProgress: 0, allowance: 0 };
    expect(stateText({ ...status, reason: 'outside-hours' }, progressive)).toBe('Closed: outside its business hours.');
    expect(stateText({ ...status, reason: 'capacity-unknown' }, progressive)).toBe('Closed: no capacity report yet.');
    expect(stateText({ ...status, reason: 'capacity-unknown', freeSlots: 4 }, progressive)).toBe(
      'Closed: the last capacity report is older than 60 s.',
    );
    expect(stateText({ ...status, reason: 'no-free-agents', freeSlots: 0 }, progressive)).toBe(
      'Closed: no free agent; every reported slot is taken.',
    );
    expect(stateText({ ...status, reason: 'pacing', inProgress: 6, allowance: 6 }, progressive)).toBe(
      'Closed: 6 in progress, as many as its allowance of 6.',
    );
    expect(
      stateText({ ...status, reason: 'pacing', inProgress: 2, allowance: 2 }, { ...progressive, mode: 'fixed' }),
    ).toBe('Closed: 2 in progress, the most allowed.');
    expect(stateText({ ...status, open: true, inProgress: 1, allowance: 6 }, progressive)).toBe(
      'Open: 5 more invitations may be in progress.',
    );
    expect(stateText({ ...status, open: true, inProgress: 5, allowance: 6 }, progressive)).toBe(
      'Open: 1 more invitation may be in progress.',
    );
    expect(stateText({ ...status, open: true, allowance: null }, { ...progressive, mode: 'off' })).toBe(
      'Open: not paced, offered whenever asked for.',
    );
  });

  it('writes the pacing settings in a line', () => {
    const base = {
      proactiveShare: 0.75,
      initialAcceptanceRate: 0.2,
      minAcceptanceRate: 0.05,
      maxOnScreen: 4,
      capacityStaleSeconds: 60,
    };
    expect(pacingText({ ...base, mode: 'off' })).toBe('Off: not paced');
    expect(pacingText({ ...base, mode: 'fixed' })).toBe('Fixed: at most 4 in progress');
    expect(pacingText({ ...base, mode: 'progressive' })).toBe(
      'Progressive · proactive share 75 % · initial rate 20 %, at least 5 % · report stale after 60 s',
    );
  });

  it('reads /pacing and /channels as untrusted input', () => {
    expect(
      readPacing({
        channels: [
          { channel: 'voice', open: 'yes', reason: 'bogus', freeSlots: -2, inProgress: 1.7, acceptanceRate: 'x' },
          {
            channel: 'chat',
            open: true,
            reason: null,
            freeSlots: 3,
            reportedAt: '2026-12-02T09:00:00.000Z',
            allowance: 15,
          },
          { open: true },
          null,
        ],
      }),
    ).toEqual([
      {
        channel: 'chat',
        open: true,
        reason: null,
        freeSlots: 3,
        reportedAt: '2026-12-02T09:00:00.000Z',
        acceptedSinceReport: 0,
        inProgress: 0,
        acceptanceRate: 0,
        allowance: 15,
        opensAt: null,
        closesAt: null,
      },
      {
        channel: 'voice',
        open: false,
        reason: null,
        freeSlots: 0,
        reportedAt: null,
        acceptedSinceReport: 0,
        inProgress: 1,
        acceptanceRate: 0,
        allowance: null,
        opensAt: null,
        closesAt: null,
      },
    ]);
    expect(readPacing('<html>')).toEqual([]);
    const channels = readChannels({
      channels: [
        {
          channel: 'chat',
          hours: { timeZone: 'Europe/Paris', weekly: { mon: [['09:00', '18:00'], 'junk'] }, closed: ['2026-12-25'] },
          pacing: { mode: 'fixed', maxOnScreen: 2 },
        },
        { channel: '', hours: null },
      ],
    });
    expect([...channels.keys()]).toEqual(['chat']);
    expect(channels.get('chat')).toEqual({
      channel: 'chat',
      hours: { timeZone: 'Europe/Paris', weekly: { mon: [['09:00', '18:00']] }, closed: ['2026-12-25'] },
      pacing: {
        mode: 'fixed',
        proactiveShare: 1,
        initialAcceptanceRate: 0.2,
        minAcceptanceRate: 0.05,
        maxOnScreen: 2,
        capacityStaleSeconds: 60,
      },
    });
  });

  it('trusts the browser’s clock unless the server’s Date header says it is off by seconds', () => {
    const received = Date.parse('2026-12-02T09:00:00.700Z');
    expect(clockOffset('Wed, 02 Dec 2026 09:00:00 GMT', received)).toBe(0);
    expect(clockOffset('Wed, 02 Dec 2026 09:05:00 GMT', received)).toBe(299_300);
    expect(clockOffset(null, received)).toBe(0);
    expect(clockOffset('not a date', received)).toBe(0);
  });
});
