import { describe, expect, it } from 'vitest';
import { mintId } from './ids.js';

describe('minted ids', () => {
  it('are 128 random bits in 22 URL-safe characters, never the same twice', () => {
    const ids = Array.from({ length: 200 }, () => mintId());
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
