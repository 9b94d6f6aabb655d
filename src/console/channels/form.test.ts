import { describe, expect, it } from 'vitest';
import type { ChannelRecord } from '../../protocol/channels.js';
import { channelBody, closedDates, draftOf, fieldErrors } from './form.js';

const stored: ChannelRecord = {
  channel: 'chat',
  hours: {
    timeZone: 'Europe/Paris',
    weekly: {
      mon: [
        ['09:00', '12:30'],
        ['13:30', '18:00'],
      ],
      tue: [['09:00', '18:00']],
    },
    closed: ['2026-12-25'],
  },
  pacing: {
    mode: 'progressive',
    proactiveShare: 0.8,
    initialAcceptanceRate: 0.25,
    minAcceptanceRate: 0.05,
    maxOnScreen: null,
    capacityStaleSeconds: 90,
  },
};

describe('the channel form', () => {
  it('opens on the stored settings and sends them back unchanged', () => {
    const draft = draftOf(stored, 'America/New_York');
    expect(draft).toMatchObject({ channel: 'chat', isNew: false, hoursOn: true, timeZone: 'Europe/Paris' });
    expect(draft.weekly.mon).toEqual([
      { start: '09:00', end: '12:30' },
      { start: '13:30', end: '18:00' },
    ]);
    expect(draft.weekly.sun).toEqual([]);
    expect(draftOf(stored, 'UTC').maxOnScreen).toBe('');
    const { channel: _name, ...settings } = stored;
    expect(channelBody(draft)).toEqual({ channel: 'chat', body: settings });
  });

  it('starts a new channel open at all hours, not paced, with office hours ready in the browser’s zone', () => {
    const draft = draftOf(null, 'Asia/Tokyo');
    expect(draft).toMatchObject({ isNew: true, hoursOn: false, timeZone: 'Asia/Tokyo', mode: 'off' });
    expect(draft.weekly.fri).toEqual([{ start: '09:00', end: '17:00' }]);
    expect(draft.weekly.sat).toEqual([]);
    const sent = channelBody({ ...draft, channel: ' callback ' });
    expect(sent).toEqual({
      channel: 'callback',
      body: {
        hours: null,
        pacing: {
          mode: 'off',
          proactiveShare: 1,
          initialAcceptanceRate: 0.2,
          minAcceptanceRate: 0.05,
          maxOnScreen: null,
          capacityStaleSeconds: 60,
        },
      },
    });
  });

  it('sends the hours typed: days without a range left out, closed dates in the order typed, blank numbers as defaults', () => {
    const draft = draftOf(null, 'UTC');
    Object.assign(draft, {
      channel: 'voice',
      hoursOn: true,
      timeZone: ' Europe/Paris ',
      closed: '2026-12-25\n2026-01-01, 2026-05-01\n\n',
      mode: 'fixed',
      maxOnScreen: '3',
      proactiveShare: '',
      capacityStaleSeconds: ' 30 ',
    });
    draft.weekly.wed = [];
    draft.weekly.sat = [{ start: '10:00', end: ' 24:00' }];
    const sent = channelBody(draft);
    expect(sent).toEqual({
      channel: 'voice',
      body: {
        hours: {
          timeZone: 'Europe/Paris',
          weekly: {
            mon: [['09:00', '17:00']],
            tue: [['09:00', '17:00']],
            thu: [['09:00', '17:00']],
            fri: [['09:00', '17:00']],
            sat: [['10:00', '24:00']],
          },
          closed: ['2026-12-25', '2026-01-01', '2026-05-01'],
        },
        pacing: {
          mode: 'fixed',
          proactiveShare: 1,
          initialAcceptanceRate: 0.2,
          minAcceptanceRate: 0.05,
          maxOnScreen: 3,
          capacityStaleSeconds: 30,
        },
      },
    });
  });

  it('keeps what is not even of the right kind from being sent, naming each field', () => {
    const draft = { ...draftOf(null, 'UTC'), channel: 'Chat Room', proactiveShare: 'all', maxOnScreen: '2x' };
    const result = channelBody(draft);
    expect('errors' in result && Object.fromEntries(result.errors)).toEqual({
      channel: ['must start with a-z and hold only a-z, 0-9 and -, at most 32 characters'],
      proactiveShare: ['must be a number'],
      maxOnScreen: ['must be a number'],
    });
    const empty = channelBody(draftOf(null, 'UTC'));
    expect('errors' in empty && [...empty.errors.keys()]).toEqual(['channel']);
    const taken = channelBody({ ...draftOf(null, 'UTC'), channel: 'chat' }, new Set(['chat']));
    expect('errors' in taken && taken.errors.get('channel')).toEqual(['chat already has settings: edit it instead']);
    // Editing a channel never questions its name.
    expect('body' in channelBody(draftOf(stored, 'UTC'), new Set(['chat']))).toBe(true);
  });

  it('puts each detail of a refusal beside the field its path names', () => {
    const sent = channelBody({ ...draftOf(stored, 'UTC'), closed: '2026-12-25\n2026-02-30' });
    if (!('body' in sent)) throw new Error('expected a body');
    const errors = fieldErrors(
      [
        { path: 'hours.timeZone', message: 'must be an IANA time zone name, e.g. Europe/Paris' },
        { path: 'hours.weekly.mon.0', message: 'must start before it ends' },
        { path: 'hours.weekly.tue.0.1', message: 'must be a local time "HH:MM" (00:00–24:00)' },
        { path: 'hours.weekly.mon', message: 'ranges of a day must not overlap' },
        { path: 'hours.closed.1', message: 'must be a calendar date YYYY-MM-DD' },
        { path: 'hours.closed', message: 'Too big: expected array to have <=400 items' },
        { path: 'pacing.maxOnScreen', message: 'is required in fixed mode' },
        { path: 'pacing.proactiveShare', message: 'Too big: expected number to be <=1' },
        { path: 'channel', message: 'must be a channel name' },
        { path: 'body', message: 'must be a JSON object' },
      ],
      sent.body,
    );
    expect(Object.fromEntries(errors)).toEqual({
      timeZone: ['must be an IANA time zone name, e.g. Europe/Paris'],
      'weekly.mon.0': ['must start before it ends'],
      'weekly.tue.0': ['To: must be a local time "HH:MM" (00:00–24:00)'],
      'weekly.mon': ['ranges of a day must not overlap'],
      closed: ['2026-02-30: must be a calendar date YYYY-MM-DD', 'Too big: expected array to have <=400 items'],
      maxOnScreen: ['is required in fixed mode'],
      proactiveShare: ['Too big: expected number to be <=1'],
      channel: ['must be a channel name'],
      form: ['body: must be a JSON object'],
    });
  });

  it('reads closed dates parted by lines, commas, semicolons or spaces', () => {
    expect(closedDates(' 2026-12-25;2026-12-26 \n\n 2027-01-01 ')).toEqual(['2026-12-25', '2026-12-26', '2027-01-01']);
    expect(closedDates('  \n ')).toEqual([]);
  });
});
