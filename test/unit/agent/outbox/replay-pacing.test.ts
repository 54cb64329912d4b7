import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_FACTOR, ReplayWindow, resendAfterMs } from '../../../../agent/outbox/replay-pacing.js';

describe('resendAfterMs', () => {
  it('is the confirm timeout after the first send, doubled per send, capped', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => resendAfterMs(30_000, n))).toEqual([30_000, 30_000, 60_000, 120_000, 240_000, 240_000, 240_000]);
    expect(resendAfterMs(1000, 200)).toBe(1000 * MAX_BACKOFF_FACTOR);
    expect(resendAfterMs(0, 3)).toBe(0);
  });
});

describe('ReplayWindow', () => {
  const sendAll = (w: ReplayWindow, from: number, deadline: number) => {
    const n = w.room;
    for (let i = 0; i < n; i++) w.sent(from + i, deadline);
    return n;
  };

  it('starts small and doubles per round trip while confirmations come (slow start), up to max', () => {
    const w = new ReplayWindow({ initial: 4, max: 20 });
    const rounds: number[] = [];
    let seq = 1;
    for (let r = 0; r < 5; r++) {
      const n = sendAll(w, seq, 1000);
      rounds.push(n);
      expect(w.room).toBe(0);
      w.confirmed([[seq, seq + n - 1]]);
      seq += n;
    }
    expect(rounds).toEqual([4, 8, 16, 20, 20]);
  });

  it('halves when replayed readings are not confirmed in time, once per round of expiries, never below initial', () => {
    const w = new ReplayWindow({ initial: 2, max: 100 });
    let seq = 1;
    for (let r = 0; r < 4; r++) {
      const n = sendAll(w, seq, 1000);
      w.confirmed([[seq, seq + n - 1]]);
      seq += n;
    }
    expect(w.size).toBe(32);
    sendAll(w, seq, 1000);
    expect(w.expire(999)).toBe(0);
    expect(w.expire(1000)).toBe(32);
    expect(w.size).toBe(16);
    expect(w.room).toBe(16);
    // at the threshold: about one more per window's worth confirmed (additive increase)
    for (const from of [1000, 1100]) {
      const n = sendAll(w, from, 5000);
      expect(n).toBe(16);
      w.confirmed([[from, from + n - 1]]);
    }
    expect(w.size).toBe(17);
    for (let r = 0; r < 10; r++) {
      sendAll(w, 2000 + r * 100, 6000 + r);
      w.expire(6000 + r);
    }
    expect(w.size).toBe(2);
  });

  it('counts only the replayed readings in the confirmed ranges; a reset starts small and forgets what was awaited', () => {
    const w = new ReplayWindow({ initial: 4, max: 100 });
    w.sent(10, 1000);
    w.sent(12, 1000);
    w.sent(20, 1000);
    expect(w.confirmed([[1, 9], [11, 11], [13, 19]])).toBe(0);
    expect(w.confirmed([[5, 12]])).toBe(2);
    expect(w.pending).toBe(1);
    expect(w.size).toBe(6);
    w.reset();
    expect(w.pending).toBe(0);
    expect(w.size).toBe(4);
    expect(w.room).toBe(4);
  });
});
