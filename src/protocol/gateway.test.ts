import { describe, expect, it } from 'vitest';
import { cancelDataSchema, findHostileKey, ixnProfileSchema, MAX_DEPTH } from './gateway.js';

const base = { interactionId: 'ixn-1', visitId: 'visit-1' };

function issues(input: unknown): Record<string, string> {
  const result = ixnProfileSchema.safeParse(input);
  if (result.success) return {};
  return Object.fromEntries(result.error.issues.map((i) => [i.path.join('.'), i.message]));
}

describe('ixnProfile', () => {
  it('fills the documented defaults', () => {
    expect(ixnProfileSchema.parse(base)).toEqual({
      interactionId: 'ixn-1',
      visitId: 'visit-1',
      pageId: null,
      channels: ['chat'],
      invitation: {},
      timeoutSeconds: 30,
      expirationSeconds: 30,
      userData: {},
      extras: {},
    });
  });

  it('accepts every GWE alias', () => {
    const parsed = ixnProfileSchema.parse({ interactionID: 'a', visitID: 'v', pageID: 'p' });
    expect([parsed.interactionId, parsed.visitId, parsed.pageId]).toEqual(['a', 'v', 'p']);
    expect(ixnProfileSchema.parse({ ixnId: 'b', visitId: 'v' }).interactionId).toBe('b');
    // The same value under both names is no conflict.
    expect(ixnProfileSchema.parse({ ixnId: 'b', interactionId: 'b', visitId: 'v' }).interactionId).toBe('b');
  });

  it('refuses an alias that disagrees with the canonical name', () => {
    expect(issues({ ixnId: 'b', interactionId: 'c', visitId: 'v' })).toHaveProperty('ixnId');
  });

  it('requires interactionId and visitId', () => {
    expect(issues({})).toEqual({ interactionId: 'is required', visitId: 'is required' });
    expect(issues({ ...base, interactionId: '' })).toHaveProperty('interactionId');
    expect(issues({ ...base, interactionId: 42 })).toEqual({ interactionId: 'must be text' });
  });

  it('limits interactionId to 128 printable characters', () => {
    expect(issues({ ...base, interactionId: 'x'.repeat(128) })).toEqual({});
    expect(issues({ ...base, interactionId: 'x'.repeat(129) })).toHaveProperty('interactionId');
    expect(issues({ ...base, interactionId: 'a\nb' })).toHaveProperty('interactionId');
  });

  it('keeps unknown keys as extras', () => {
    const parsed = ixnProfileSchema.parse({ ...base, campaign: 'spring', nested: { a: [1, 2] } });
    expect(parsed.extras).toEqual({ campaign: 'spring', nested: { a: [1, 2] } });
  });

  it('validates channels', () => {
    expect(ixnProfileSchema.parse({ ...base, channels: ['chat', 'callback', 'video-call'] }).channels).toEqual([
      'chat',
      'callback',
      'video-call',
    ]);
    expect(issues({ ...base, channels: [] })).toHaveProperty('channels');
    expect(issues({ ...base, channels: ['Chat'] })).toHaveProperty('channels.0');
    expect(issues({ ...base, channels: ['1chat'] })).toHaveProperty('channels.0');
    expect(issues({ ...base, channels: ['chat', 'chat'] })).toHaveProperty('channels');
    expect(issues({ ...base, channels: 'chat' })).toHaveProperty('channels');
  });

  it('limits the invitation texts', () => {
    const ok = {
      title: 't'.repeat(120),
      message: 'm'.repeat(1000),
      acceptLabels: { chat: 'l'.repeat(40) },
      declineLabel: 'd'.repeat(40),
      locale: 'fr-CA',
      imageUrl: 'https://cdn.example/agent.png',
    };
    expect(issues({ ...base, invitation: ok })).toEqual({});
    expect(issues({ ...base, invitation: { title: 't'.repeat(121) } })).toHaveProperty('invitation.title');
    expect(issues({ ...base, invitation: { message: 'm'.repeat(1001) } })).toHaveProperty('invitation.message');
    expect(issues({ ...base, invitation: { acceptLabels: { chat: 'l'.repeat(41) } } })).toHaveProperty(
      'invitation.acceptLabels.chat',
    );
    expect(issues({ ...base, invitation: { acceptLabels: { Chat: 'x' } } })).toHaveProperty(
      'invitation.acceptLabels.Chat',
    );
    expect(issues({ ...base, invitation: { declineLabel: 'd'.repeat(41) } })).toHaveProperty('invitation.declineLabel');
  });

  it('accepts BCP 47 locales only', () => {
    for (const locale of ['en', 'fr', 'de-CH', 'es-419', 'zh-Hant-TW']) {
      expect(issues({ ...base, invitation: { locale } })).toEqual({});
    }
    for (const locale of ['fr_FR', '', '12', 'en-', 'a', 'en US']) {
      expect(issues({ ...base, invitation: { locale } })).toHaveProperty('invitation.locale');
    }
  });

  it('accepts https and site-relative image URLs only', () => {
    for (const imageUrl of ['https://cdn.example/a.png', '/img/agent.png']) {
      expect(issues({ ...base, invitation: { imageUrl } })).toEqual({});
    }
    for (const imageUrl of [
      'http://cdn.example/a.png',
      'javascript:alert(1)',
      'data:image/png;base64,AA',
      '//evil.example/a.png',
      'img.png',
    ]) {
      expect(issues({ ...base, invitation: { imageUrl } })).toHaveProperty('invitation.imageUrl');
    }
  });

  it('bounds timeoutSeconds to 5–600 and expirationSeconds to 10–1800, whole numbers', () => {
    expect(ixnProfileSchema.parse({ ...base, timeoutSeconds: 5, expirationSeconds: 1800 })).toMatchObject({
      timeoutSeconds: 5,
      expirationSeconds: 1800,
    });
    expect(ixnProfileSchema.parse({ ...base, timeoutSeconds: '45' }).timeoutSeconds).toBe(45);
    expect(issues({ ...base, timeoutSeconds: 4 })).toHaveProperty('timeoutSeconds');
    expect(issues({ ...base, timeoutSeconds: 601 })).toHaveProperty('timeoutSeconds');
    expect(issues({ ...base, timeoutSeconds: 7.5 })).toHaveProperty('timeoutSeconds');
    expect(issues({ ...base, timeoutSeconds: '7.5' })).toHaveProperty('timeoutSeconds');
    expect(issues({ ...base, expirationSeconds: 9 })).toHaveProperty('expirationSeconds');
    expect(issues({ ...base, expirationSeconds: 1801 })).toHaveProperty('expirationSeconds');
  });

  it('takes userData as a flat object of at most 8 KB', () => {
    expect(ixnProfileSchema.parse({ ...base, userData: { a: 'x', b: 2, c: true } }).userData).toEqual({
      a: 'x',
      b: 2,
      c: true,
    });
    expect(issues({ ...base, userData: { a: { b: 1 } } })).toHaveProperty('userData.a');
    expect(issues({ ...base, userData: { a: [1] } })).toHaveProperty('userData.a');
    expect(issues({ ...base, userData: { a: null } })).toHaveProperty('userData.a');
    expect(issues({ ...base, userData: { big: 'x'.repeat(8200) } })).toHaveProperty('userData');
    expect(issues({ ...base, userData: { fits: 'x'.repeat(8000) } })).toEqual({});
  });
});

describe('cancelData', () => {
  it('accepts the aliases and an optional visit and reason', () => {
    expect(cancelDataSchema.parse({ ixnId: 'a' })).toEqual({ interactionId: 'a', visitId: null, reason: null });
    expect(cancelDataSchema.parse({ interactionID: 'a', visitID: 'v', reason: 'no-agents' })).toEqual({
      interactionId: 'a',
      visitId: 'v',
      reason: 'no-agents',
    });
  });

  it('requires interactionId and bounds the reason', () => {
    expect(cancelDataSchema.safeParse({}).success).toBe(false);
    expect(cancelDataSchema.safeParse({ interactionId: 'a', reason: 'r'.repeat(257) }).success).toBe(false);
    expect(cancelDataSchema.safeParse({ interactionId: 'a', reason: 'r'.repeat(256) }).success).toBe(true);
  });
});

describe('findHostileKey', () => {
  it('finds prototype keys at any depth', () => {
    expect(findHostileKey(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toBe('a.__proto__');
    expect(findHostileKey({ constructor: { prototype: 1 } })).toBe('constructor');
    expect(findHostileKey({ a: [{ b: 1 }] })).toBeNull();
  });

  it('refuses nesting deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) deep = { d: deep };
    expect(findHostileKey(deep)).not.toBeNull();
  });
});
