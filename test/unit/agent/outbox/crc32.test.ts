import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../../agent/outbox/crc32.js';

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});
