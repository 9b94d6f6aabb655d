import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from './signature.js';

const body = '{"id":"e1","type":"engagement.accepted"}';

describe('webhook signatures', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<raw body>"', () => {
    const expected = createHmac('sha256', 'k').update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('k', 1700000000, body)).toBe(`sha256=${expected}`);
  });

  it('verifies a fresh delivery and refuses a changed body, timestamp, secret or a stale one', () => {
    const ts = 1700000000;
    const signature = signWebhook('k', ts, body);
    const at = { nowSeconds: ts + 10 };
    expect(verifyWebhook('k', { signature, timestamp: String(ts) }, body, at)).toBe(true);
    expect(verifyWebhook('k', { signature, timestamp: String(ts) }, body.replace('accepted', 'declined'), at)).toBe(
      false,
    );
    expect(verifyWebhook('k', { signature, timestamp: String(ts + 1) }, body, at)).toBe(false);
    expect(verifyWebhook('other', { signature, timestamp: String(ts) }, body, at)).toBe(false);
    expect(verifyWebhook('k', { signature, timestamp: String(ts) }, body, { nowSeconds: ts + 3600 })).toBe(false);
    expect(verifyWebhook('k', { signature: undefined, timestamp: String(ts) }, body, at)).toBe(false);
    expect(verifyWebhook('k', { signature: 'sha256=00', timestamp: String(ts) }, body, at)).toBe(false);
  });
});
