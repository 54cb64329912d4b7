import { describe, expect, it } from 'vitest';
import { healthReading, OutboxSizeLog } from '../../../../agent/runtime/health.js';
import type { OutboxStats } from '../../../../agent/outbox/outbox.js';
import { captureLog } from '../../../../testkit/log.js';

const stats = (messages: number, oldest?: number): OutboxStats => ({ messages, bytes: messages * 100, oldestSampleTimeMs: oldest, droppedTotal: 3, corruptTotal: 0, segments: 1 });

describe('agent health', () => {
  it('builds the agentHealth reading from the outbox and counters', () => {
    const r = healthReading({ outbox: () => stats(7, 1000), resentTotal: () => 4, collectorFailuresTotal: () => 2 }, 6000);
    expect(r).toEqual({ outboxMessages: 7, outboxBytes: 700, oldestUnconfirmedAgeMs: 5000, droppedTotal: 3, resentTotal: 4, collectorFailuresTotal: 2 });
    expect(healthReading({ outbox: () => stats(0), resentTotal: () => 0, collectorFailuresTotal: () => 0 }, 6000).oldestUnconfirmedAgeMs).toBe(0);
  });

  it('logs the outbox size on a 10 % change (at most every 30 s) and every 5 minutes, not every check', () => {
    const { log, lines } = captureLog('info');
    const l = new OutboxSizeLog(log);
    const t0 = 1_000_000;
    expect(l.check(stats(100), t0)).toBe(true); // first
    expect(l.check(stats(105), t0 + 40_000)).toBe(false); // < 10 %
    expect(l.check(stats(200), t0 + 10_000)).toBe(false); // too soon
    expect(l.check(stats(200), t0 + 40_000)).toBe(true);
    expect(l.check(stats(205), t0 + 80_000)).toBe(false);
    expect(l.check(stats(205), t0 + 40_000 + 300_000)).toBe(true); // 5 minutes
    expect(l.check(stats(0), t0 + 40_000 + 330_000)).toBe(true); // drained
    expect(lines.map((x) => x.messages)).toEqual([100, 200, 205, 0]);
    expect(lines.every((x) => x.msg === 'outbox size' && x.level === 30)).toBe(true);
  });
});
