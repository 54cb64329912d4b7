// The agent's own health: the agentHealth group (published through the outbox like any
// reading) and the periodic "outbox size" log line.
import type { Logger } from '../../common/log.js';
import type { CollectorEntry, Reading } from '../collectors/types.js';
import type { OutboxStats } from '../outbox/outbox.js';

export interface HealthCounters {
  outbox(): OutboxStats;
  resentTotal(): number;
  collectorFailuresTotal(): number;
}

/** Builds an agentHealth reading from the counters. */
export function healthReading(c: HealthCounters, now: number): Reading<'agentHealth'> {
  const s = c.outbox();
  return {
    outboxMessages: s.messages,
    outboxBytes: s.bytes,
    oldestUnconfirmedAgeMs: s.oldestSampleTimeMs === undefined ? 0 : Math.max(0, now - s.oldestSampleTimeMs),
    droppedTotal: s.droppedTotal,
    resentTotal: c.resentTotal(),
    collectorFailuresTotal: c.collectorFailuresTotal(),
  };
}

/** The agentHealth entry for the runner's table (agent.intervalMs unless metrics.agentHealth says otherwise). */
export function agentHealthEntry(c: HealthCounters, now: () => number = Date.now): CollectorEntry<'agentHealth'> {
  return {
    defaultEnabled: true,
    create: () => ({ name: 'agentHealth', collect: async () => healthReading(c, now()) }),
  };
}

const LOG_EVERY_MS = 5 * 60_000;
const LOG_AT_MOST_EVERY_MS = 30_000;

/**
 * Logs the outbox size at info when it changed by 10 % (and by at least 10 readings) since
 * the last line, at most every 30 s, and every 5 minutes anyway: often enough to see a
 * backlog grow, never every cycle.
 */
export class OutboxSizeLog {
  private last: { messages: number; at: number } | undefined;

  constructor(private readonly log: Logger) {}

  check(s: OutboxStats, now: number): boolean {
    const last = this.last;
    const delta = last ? Math.abs(s.messages - last.messages) : Infinity;
    const due = !last || now - last.at >= LOG_EVERY_MS || (now - last.at >= LOG_AT_MOST_EVERY_MS && delta >= 10 && delta >= last.messages * 0.1);
    if (!due) return false;
    this.last = { messages: s.messages, at: now };
    this.log.info(
      { messages: s.messages, bytes: s.bytes, oldestAgeMs: s.oldestSampleTimeMs === undefined ? 0 : now - s.oldestSampleTimeMs, droppedTotal: s.droppedTotal, segments: s.segments },
      'outbox size',
    );
    return true;
  }
}
