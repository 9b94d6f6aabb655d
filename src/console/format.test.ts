import { describe, expect, it } from 'vitest';
import { delayLabel, duration, newInteractionId, percent, short, stateLabel } from './format.js';

describe('how the console writes things', () => {
  it('shortens only ids too long for a line of text', () => {
    expect(short('s5_UEXgryLKMaeCz0HTiQg')).toBe('s5_UEXgr…');
    expect(short('0123456789')).toBe('0123456789');
  });

  it('writes states as people do', () => {
    expect(stateLabel('timed_out')).toBe('timed out');
    expect(stateLabel('accepted')).toBe('accepted');
  });

  it('writes a delay in milliseconds below a second, else in tenths of seconds', () => {
    expect(delayLabel(191)).toBe('+191 ms');
    expect(delayLabel(999)).toBe('+999 ms');
    expect(delayLabel(1000)).toBe('+1.0 s');
    expect(delayLabel(1750)).toBe('+1.8 s');
  });

  it('writes a share in whole percent, one decimal below 10 %, and no share as a dash', () => {
    expect(percent(0.4)).toBe('40 %');
    expect(percent(1 / 3)).toBe('33 %');
    expect(percent(0.05)).toBe('5.0 %');
    expect(percent(0)).toBe('0 %');
    expect(percent(null)).toBe('—');
  });

  it('writes a duration from the reports, and a dash when it is not a number', () => {
    expect(duration(697.4)).toBe('697 ms');
    expect(duration(1500)).toBe('1.5 s');
    expect(duration(Number.NaN)).toBe('—');
  });
});

describe('interactionIds', () => {
  const uuid4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('are UUIDs v4, also where randomUUID is missing (a console over plain http on a LAN address)', () => {
    const insecure = { getRandomValues: (array: Uint8Array<ArrayBuffer>) => crypto.getRandomValues(array) };
    const ids = new Set(Array.from({ length: 200 }, () => newInteractionId(insecure)));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(uuid4);
    expect(newInteractionId()).toMatch(uuid4);
  });
});
