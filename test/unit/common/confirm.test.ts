import { describe, expect, it } from 'vitest';
import { MAX_CONFIRM_RANGES, confirmPayloads, decodeConfirm, encodeConfirm } from '../../../common/confirm.js';
import { seqsToRanges } from '../../../common/ranges.js';
import { PayloadError } from '../../../common/errors.js';

describe('confirm payload', () => {
  it('merges seqs into sorted inclusive ranges', () => {
    expect(seqsToRanges([10, 3, 1, 2, 5, 9, 2])).toEqual([[1, 3], [5, 5], [9, 10]]);
    expect(seqsToRanges([])).toEqual([]);
  });

  it('round-trips through the documented JSON form', () => {
    const buf = encodeConfirm([[1, 3], [5, 5]]);
    expect(buf.toString()).toBe('{"ranges":[[1,3],[5,5]]}');
    expect(decodeConfirm(buf)).toEqual([[1, 3], [5, 5]]);
    expect(decodeConfirm('{"ranges":[]}')).toEqual([]);
  });

  it('splits long lists into payloads of at most MAX_CONFIRM_RANGES ranges', () => {
    const seqs = Array.from({ length: MAX_CONFIRM_RANGES + 10 }, (_, i) => i * 2);
    const payloads = confirmPayloads(seqs);
    expect(payloads).toHaveLength(2);
    const all = payloads.flatMap((p) => decodeConfirm(p));
    expect(all).toHaveLength(MAX_CONFIRM_RANGES + 10);
    for (const p of payloads) expect(p.length).toBeLessThan(256 * 1024);
  });

  it.each([
    ['not json', 'nope'],
    ['no ranges', '{"upTo":3}'],
    ['array', '[[1,2]]'],
    ['range of 3', '{"ranges":[[1,2,3]]}'],
    ['from > to', '{"ranges":[[5,2]]}'],
    ['negative', '{"ranges":[[-1,2]]}'],
    ['fraction', '{"ranges":[[1.5,2]]}'],
    ['string', '{"ranges":[["1",2]]}'],
  ])('refuses %s with a PayloadError', (_name, text) => {
    expect(() => decodeConfirm(Buffer.from(text))).toThrow(PayloadError);
    try {
      decodeConfirm(text);
    } catch (err) {
      expect((err as PayloadError).reason).toBe('confirm');
    }
  });
});
