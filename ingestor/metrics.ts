// The ingestor's self-metrics (README "Self-metrics"): IngestorStats' counters (the same
// ones written as MachmonIngestor), read when /metrics is scraped, the pipeline's backlog,
// and whether the broker connection and InfluxDB are there. InfluxDB is asked (GET /ping,
// which 1.x and 2.x answer with 204 without credentials) when /metrics or /readyz is
// requested, at most once a second.
import type { Registry } from 'prom-client';
import { collected, collectedHistogram, unlabelled, type Sample } from '../common/prometheus.js';
import type { IngestorStats } from './stats.js';

const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;

export interface InfluxProbe {
  /** Undefined when InfluxDB answers /ping, else why not. */
  check(): Promise<string | undefined>;
}

/** Asks `${url}/ping`, one request at a time, the answer kept for a second. */
export function influxProbe(url: string): InfluxProbe {
  const ping = `${url.replace(/\/+$/, '')}/ping`;
  let last: { at: number; problem: string | undefined } | undefined;
  let inFlight: Promise<string | undefined> | undefined;
  const ask = async (): Promise<string | undefined> => {
    try {
      const r = await fetch(ping, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await r.arrayBuffer();
      return r.status === 204 ? undefined : `InfluxDB ${ping} answered HTTP ${r.status}`;
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string }; message?: string };
      return `InfluxDB ${ping} does not answer (${e.name === 'TimeoutError' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : e.cause?.code ?? e.message})`;
    }
  };
  return {
    check() {
      if (last && Date.now() - last.at < PROBE_EVERY_MS) return Promise.resolve(last.problem);
      inFlight ??= ask().then((problem) => {
        last = { at: Date.now(), problem };
        inFlight = undefined;
        return problem;
      });
      return inFlight;
    },
  };
}

export interface IngestorFigureSource {
  stats: IngestorStats;
  pendingBytes(): number;
  brokerConnected(): boolean;
  influx: InfluxProbe;
}

export function registerIngestorMetrics(registry: Registry, src: IngestorFigureSource): void {
  const s = src.stats;
  const metrics: Parameters<typeof collected>[1][] = [
    { name: 'machmon_ingestor_messages_received_total', help: 'MQTT messages taken from the broker (readings and status) since start.', type: 'counter', read: () => unlabelled(s.received) },
    { name: 'machmon_ingestor_messages_written_total', help: 'Messages whose points InfluxDB stored since start.', type: 'counter', read: () => unlabelled(s.writtenMessages) },
    { name: 'machmon_ingestor_points_written_total', help: 'Points InfluxDB stored (readings and status, not self-metrics) since start.', type: 'counter', read: () => unlabelled(s.writtenPoints) },
    {
      name: 'machmon_ingestor_messages_rejected_total',
      help: 'Messages rejected since start, by reason (undecodable, hostname mismatch, out of range...; README "Error codes").',
      type: 'counter',
      read: () => [...s.rejected].sort().map(([reason, n]): Sample => [{ reason }, n]),
    },
    { name: 'machmon_ingestor_points_refused_total', help: 'Points InfluxDB refused for their content (HTTP 400: type conflict, bad line), not retried, since start.', type: 'counter', read: () => unlabelled(s.influxRefusedPoints) },
    { name: 'machmon_ingestor_write_failures_total', help: 'Write attempts that failed with InfluxDB unavailable (each retry counts) since start.', type: 'counter', read: () => unlabelled(s.writeFailures) },
    { name: 'machmon_ingestor_acks_total', help: 'PUBACKs sent to the broker (after the write) since start.', type: 'counter', read: () => unlabelled(s.acked) },
    { name: 'machmon_ingestor_stale_acks_total', help: 'PUBACKs dropped because their message came on an earlier connection (the broker sends it again) since start.', type: 'counter', read: () => unlabelled(s.staleAcks) },
    { name: 'machmon_ingestor_confirmations_published_total', help: 'Confirmations published on machmon/<host>/confirm/stored since start.', type: 'counter', read: () => unlabelled(s.confirmsPublished) },
    { name: 'machmon_ingestor_pending_messages', help: 'Messages taken and not yet acknowledged now.', type: 'gauge', read: () => unlabelled(s.pending) },
    { name: 'machmon_ingestor_pending_bytes', help: 'Line protocol of those messages now (bytes, about).', type: 'gauge', read: () => unlabelled(src.pendingBytes()) },
    { name: 'machmon_ingestor_broker_connected', help: '1 while the ingestor holds its MQTT connection to the broker, else 0.', type: 'gauge', read: () => unlabelled(src.brokerConnected() ? 1 : 0) },
    { name: 'machmon_ingestor_influxdb_up', help: '1 when InfluxDB answered /ping (asked at most once a second), else 0.', type: 'gauge', read: async () => unlabelled((await src.influx.check()) === undefined ? 1 : 0) },
  ];
  for (const m of metrics) collected(registry, m);
  collectedHistogram(registry, 'machmon_ingestor_write_duration_seconds', 'Duration of the writes InfluxDB answered.', s.writeSeconds);
  collectedHistogram(registry, 'machmon_ingestor_write_batch_points', 'Points per write.', s.batchPoints);
}

/** Why the ingestor is not ready: no broker connection, or InfluxDB does not answer. */
export async function ingestorNotReady(src: IngestorFigureSource): Promise<string[]> {
  const out: string[] = [];
  if (!src.brokerConnected()) out.push('not connected to the broker');
  const influx = await src.influx.check();
  if (influx) out.push(influx);
  return out;
}
