import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../common/backoff.js';

describe('reconnect backoff', () => {
  it('doubles from min up to max, within +-20 % jitter, never outside [min, max]', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, 1000, 60_000, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(backoffDelay(3, 1000, 60_000, () => 0)).toBe(3200);
    expect(backoffDelay(3, 1000, 60_000, () => 0.999999)).toBe(4800);
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(1000);
    expect(backoffDelay(1000, 1000, 60_000, () => 0.999999)).toBe(60_000);
  });
});
