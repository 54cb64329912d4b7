// machmon/$broker/stats: the embedded broker's figures (common/broker-stats.ts), stored as
// measurement MachmonBroker: one point with every figure, and one per refusal reason
// (tag reason, field refused), as MachmonIngestor keeps its rejections. Point time = the
// broker's own time of the figures. Self-metrics: not counted as readings received or written.
import { decodeBrokerStats } from '../../common/broker-stats.js';
import { escapeKey, escapeMeasurement, formatLine, type FieldPair } from '../line-protocol.js';
import { INGESTOR_MEASUREMENTS } from '../measurements.js';
import type { Routed } from '../routed.js';

export const BROKER_MEASUREMENT = INGESTOR_MEASUREMENTS.broker.measurement;
const MEASUREMENT = escapeMeasurement(BROKER_MEASUREMENT);
const HOSTNAME = escapeKey('hostname');
const REASON = escapeKey('reason');

export function handleBrokerStats(payload: Uint8Array): Routed {
  const s = decodeBrokerStats(payload);
  const host: [string, string] = [HOSTNAME, s.hostname];
  const fields: FieldPair[] = Object.entries(s.figures)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [escapeKey(k), `${v}i`]);
  const lines: string[] = [];
  if (fields.length) lines.push(formatLine(MEASUREMENT, [host], fields, s.timeMs)!);
  for (const [reason, n] of Object.entries(s.refused).sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(formatLine(MEASUREMENT, [host, [REASON, reason]], [['refused', `${n}i`]], s.timeMs)!);
  }
  return { kind: 'points', host: s.hostname, lines, self: true };
}
