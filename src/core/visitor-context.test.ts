/**
 * Identity verification (docs/widget.md, "Identity"): the site's server
 * signs a userId with the shared secret; only that token verifies it.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { identityToken, verifiesIdentity } from './visitor-context.js';

const SECRET = 'shared-with-the-site-server';

describe('identity tokens', () => {
  it('are the hex HMAC-SHA256 of the userId, as a site computes it', () => {
    const userId = 'adа@example.com'; // with a Cyrillic a: hashed as UTF-8
    expect(identityToken(SECRET, userId)).toBe(
      createHmac('sha256', SECRET).update(Buffer.from(userId, 'utf8')).digest('hex'),
    );
  });

  it('verify only the userId they were made for, under the same secret', () => {
    const token = identityToken(SECRET, 'u-1');
    expect(verifiesIdentity(SECRET, 'u-1', token)).toBe(true);
    expect(verifiesIdentity(SECRET, 'u-1', token.toUpperCase())).toBe(true);
    expect(verifiesIdentity(SECRET, 'u-2', token)).toBe(false);
    expect(verifiesIdentity('another-secret-entirely', 'u-1', token)).toBe(false);
    expect(verifiesIdentity(SECRET, 'u-1', token.slice(1))).toBe(false);
    expect(verifiesIdentity(SECRET, 'u-1', `${token}0`)).toBe(false);
    expect(verifiesIdentity(SECRET, 'u-1', undefined)).toBe(false);
    expect(verifiesIdentity(SECRET, 'u-1', '')).toBe(false);
    // Without a secret nothing verifies, not even a token made with an empty key.
    expect(verifiesIdentity(null, 'u-1', createHmac('sha256', '').update('u-1').digest('hex'))).toBe(false);
  });
});
