import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePingSummary, rttStats } from '../../../../agent/parse/ping.js';
import { OUTPUTS } from '../../../../testkit/fixtures.js';

describe('ping summary parser', () => {
  it('reads the iputils summary recorded on a Pi 4', () => {
    expect(parsePingSummary(readFileSync(path.join(OUTPUTS, 'ping-pi4.txt'), 'utf8'))).toEqual({
      transmitted: 3, received: 3, lossPercent: 0, minMs: 0.096, avgMs: 0.13, maxMs: 0.166, mdevMs: 0.028,
    });
  });
  it('reads 100% loss (no rtt line): round trips stay unset', () => {
    expect(parsePingSummary(readFileSync(path.join(OUTPUTS, 'ping-100-percent-loss.txt'), 'utf8'))).toEqual({ transmitted: 5, received: 0, lossPercent: 100 });
  });
  it('reads BusyBox\'s wording and iputils with errors, refuses text without a summary', () => {
    const busybox = '--- 10.0.0.1 ping statistics ---\n3 packets transmitted, 2 packets received, 33% packet loss\nround-trip min/avg/max = 0.301/0.402/0.503 ms\n';
    expect(parsePingSummary(busybox)).toEqual({ transmitted: 3, received: 2, lossPercent: 33, minMs: 0.301, avgMs: 0.402, maxMs: 0.503 });
    expect(parsePingSummary('4 packets transmitted, 1 received, +3 errors, 75% packet loss, time 3005ms\n')).toMatchObject({ transmitted: 4, received: 1, lossPercent: 75 });
    expect(parsePingSummary('ping: unknown host nowhere\n')).toBeUndefined();
  });
  it('computes connect-time statistics like ping (mdev = population standard deviation)', () => {
    expect(rttStats([])).toBeUndefined();
    const s = rttStats([1, 2, 3])!;
    expect(s).toMatchObject({ minMs: 1, avgMs: 2, maxMs: 3 });
    expect(s.mdevMs).toBeCloseTo(Math.sqrt(2 / 3), 10);
  });
});
