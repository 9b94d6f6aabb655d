import { describe, expect, it } from 'vitest';
import { erasureMarkerKey } from './erasure.js';

describe('erasure marker', () => {
  it('is the same for the same browser and secret, and holds neither', () => {
    const key = erasureMarkerKey('secret-1', 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(erasureMarkerKey('secret-1', 'AAAAAAAAAAAAAAAAAAAAAA')).toBe(key);
    expect(key).not.toContain('AAAAAAAAAAAAAAAAAAAAAA');
  });

  it('differs by browser and by secret', () => {
    const key = erasureMarkerKey('secret-1', 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(erasureMarkerKey('secret-1', 'BAAAAAAAAAAAAAAAAAAAAA')).not.toBe(key);
    expect(erasureMarkerKey('secret-2', 'AAAAAAAAAAAAAAAAAAAAAA')).not.toBe(key);
  });
});
