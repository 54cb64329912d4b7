// Routes one MQTT message by its topic to the handler of its kind. Pure apart from the
// receipt time passed in: returns the points to write, or a PayloadError for a message
// rejected for good (the caller logs, counts it by `reason` and acknowledges it).
import { PayloadError } from '../common/errors.js';
import { parseTopic } from '../common/topics.js';
import { handleBrokerStats } from './handlers/broker-stats.js';
import { handleMetric } from './handlers/metric.js';
import { handleStatus } from './handlers/status.js';
import type { Routed } from './routed.js';

export interface Incoming {
  topic: string;
  payload: Uint8Array;
  receivedAtMs: number;
  retained?: boolean;
}

export function route(msg: Incoming): Routed {
  let host: string | undefined;
  try {
    const t = parseTopic(msg.topic);
    if (t.kind === 'brokerStats') return handleBrokerStats(msg.payload);
    host = t.host;
    switch (t.kind) {
      case 'metric':
        return handleMetric(t.host, t.metric, msg.payload, msg.receivedAtMs);
      case 'status':
        return handleStatus(t.host, msg.payload, msg.receivedAtMs, msg.retained ?? false);
      case 'confirm':
        return { kind: 'ignored' };
    }
  } catch (err) {
    if (err instanceof PayloadError) return { kind: 'rejected', host: host ?? msg.topic.split('/')[1], error: err };
    // A bug of ours on strange input must not kill the ingestor either.
    return { kind: 'rejected', host, error: new PayloadError('internal', `${msg.topic}: ${(err as Error).message}`, { cause: err }) };
  }
}
