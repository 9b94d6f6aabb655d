import { describe, expect, it } from 'vitest';
import { acceptLabel, stringsFor } from './strings.js';

describe('stringsFor', () => {
  it('falls back to English when no locale has a table', () => {
    expect(stringsFor('xx-YY', undefined, '', null).title).toBe('Can we help?');
  });

  it('matches on the language subtag', () => {
    expect(stringsFor('EN-gb')).toBe(stringsFor('en'));
  });
});

describe('acceptLabel', () => {
  const en = stringsFor('en');

  it("prefers the profile's label, then ours, then the channel's name", () => {
    expect(acceptLabel(en, 'chat', { chat: 'Talk to Ana' })).toBe('Talk to Ana');
    expect(acceptLabel(en, 'callback')).toBe('Call me back');
    expect(acceptLabel(en, 'voice', {})).toBe('Call me');
    expect(acceptLabel(en, 'video-call')).toBe('video-call');
  });
});
