import { describe, expect, it } from 'vitest';
import { acceptLabel, LANGUAGES, stringsFor } from './strings.js';

describe('stringsFor', () => {
  it('has English, French, German and Spanish, each with every string', () => {
    expect(LANGUAGES).toEqual(expect.arrayContaining(['en', 'fr', 'de', 'es']));
    const keys = Object.keys(stringsFor('en')).sort();
    for (const language of LANGUAGES) {
      const table = stringsFor(language);
      expect(Object.keys(table).sort(), language).toEqual(keys);
      expect(Object.keys(table.accept).sort(), language).toEqual(['callback', 'chat', 'voice']);
    }
  });

  it('falls back to English when no locale has a table', () => {
    expect(stringsFor('xx-YY', undefined, '', null).title).toBe('Can we help?');
  });

  it('matches on the language subtag, either separator, any case', () => {
    expect(stringsFor('EN-gb')).toBe(stringsFor('en'));
    expect(stringsFor('fr_CA').title).toBe('Pouvons-nous vous aider ?');
    expect(stringsFor('de-AT').decline).toBe('Nein danke');
  });

  it('takes the first locale it knows, in the order given', () => {
    expect(stringsFor(undefined, 'it', 'es-MX', 'de').close).toBe('Cerrar');
  });

  it('never finds a table among Object properties', () => {
    expect(stringsFor('constructor', '__proto__', 'toString').title).toBe('Can we help?');
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
