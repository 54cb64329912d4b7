// The measurements the ingestor writes itself, beside the metric groups of the proto: the
// one place their names, tags and fields are spelled, for the code that writes them
// (handlers/status.ts, stats.ts) and the dashboards that read them.
import { BROKER_STATS_FIELDS, type BrokerStatsField } from '../common/broker-stats.js';
import type { FieldKind } from '../common/schema.js';

export interface OwnMeasurement {
  readonly measurement: string;
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldKind>>;
}

export const INGESTOR_MEASUREMENTS = {
  /** machmon/<host>/status, see handlers/status.ts. */
  status: {
    measurement: 'Status',
    tags: ['hostname'],
    fields: { online: 'int', retained: 'int', status: 'string' },
  },
  /** The ingestor's counters, see stats.ts; `reason` only on the per-reason rejection points. */
  ingestor: {
    measurement: 'MachmonIngestor',
    tags: ['hostname', 'reason'],
    fields: {
      acked: 'int',
      confirmsPublished: 'int',
      influxRefusedPoints: 'int',
      lastWriteLatencyMs: 'int',
      pending: 'int',
      received: 'int',
      rejected: 'int',
      staleAcks: 'int',
      writeFailures: 'int',
      writtenMessages: 'int',
      writtenPoints: 'int',
    },
  },
  /** The embedded broker's figures from machmon/$broker/stats, see handlers/broker-stats.ts; `reason` only on the per-reason refusal points (field refused). */
  broker: {
    measurement: 'MachmonBroker',
    tags: ['hostname', 'reason'],
    fields: { ...(Object.fromEntries(BROKER_STATS_FIELDS.map((f) => [f, 'int'])) as Record<BrokerStatsField, 'int'>), refused: 'int' },
  },
} as const satisfies Record<string, OwnMeasurement>;

export type IngestorMeasurement = keyof typeof INGESTOR_MEASUREMENTS;
export type IngestorField<M extends IngestorMeasurement> = keyof (typeof INGESTOR_MEASUREMENTS)[M]['fields'] & string;
