// The ingestor's own counters (cumulative since start), exposed to tests, served on /metrics
// (ingestor/metrics.ts reads them when scraped) and written to InfluxDB periodically as
// measurement MachmonIngestor so Grafana can show throughput, backlog and rejected messages
// by reason.
import { Histogram } from '../common/histogram.js';
import { escapeKey, escapeMeasurement, formatLine, type FieldPair } from './line-protocol.js';
import { INGESTOR_MEASUREMENTS, type IngestorField } from './measurements.js';

export const SELF_MEASUREMENT = INGESTOR_MEASUREMENTS.ingestor.measurement;

export class IngestorStats {
  /** MQTT messages taken from the broker. */
  received = 0;
  /** Points InfluxDB accepted (readings and status; not these self-metrics). */
  writtenPoints = 0;
  /** Messages whose points are stored (acknowledged or not). */
  writtenMessages = 0;
  /** Messages rejected by the ingestor, by PayloadError reason. */
  readonly rejected = new Map<string, number>();
  /** Points InfluxDB refused for their content (HTTP 400/422), not retried. */
  influxRefusedPoints = 0;
  /** Write attempts that failed because InfluxDB was unavailable (each retry counts). */
  writeFailures = 0;
  /** PUBACKs sent. */
  acked = 0;
  /** PUBACKs dropped because the message came on an earlier connection (the broker re-delivers it). */
  staleAcks = 0;
  /** Confirmation payloads published. */
  confirmsPublished = 0;
  /** Duration of the last successful write, ms. */
  lastWriteLatencyMs = 0;
  /** Messages taken but not yet acknowledged (set by the pipeline). */
  pending = 0;
  /** Successful writes: their duration (seconds) and their size (points). */
  readonly writeSeconds = new Histogram([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly batchPoints = new Histogram([1, 10, 50, 100, 500, 1000, 2500, 5000, 10000]);

  /** One write InfluxDB answered (stored, or refused for its content). */
  recordWrite(ms: number, points: number): void {
    this.lastWriteLatencyMs = ms;
    this.writeSeconds.observe(ms / 1000);
    this.batchPoints.observe(points);
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  get rejectedTotal(): number {
    let n = 0;
    for (const v of this.rejected.values()) n += v;
    return n;
  }

  /** The self-metric points at `timeMs`: one summary point and one per rejection reason. */
  toLines(hostname: string, timeMs: number): string[] {
    const m = escapeMeasurement(SELF_MEASUREMENT);
    const host: [string, string] = [escapeKey('hostname'), hostname];
    const ints: [IngestorField<'ingestor'>, number][] = [
      ['acked', this.acked],
      ['confirmsPublished', this.confirmsPublished],
      ['influxRefusedPoints', this.influxRefusedPoints],
      ['lastWriteLatencyMs', Math.round(this.lastWriteLatencyMs)],
      ['pending', this.pending],
      ['received', this.received],
      ['rejected', this.rejectedTotal],
      ['staleAcks', this.staleAcks],
      ['writeFailures', this.writeFailures],
      ['writtenMessages', this.writtenMessages],
      ['writtenPoints', this.writtenPoints],
    ];
    const fields: FieldPair[] = ints.map(([k, v]) => [escapeKey(k), `${v}i`]);
    const lines = [formatLine(m, [host], fields, timeMs)!];
    const reasonKey = escapeKey('reason');
    for (const [reason, n] of [...this.rejected].sort()) lines.push(formatLine(m, [host, [reasonKey, reason]], [['rejected', `${n}i`]], timeMs)!);
    return lines;
  }
}
