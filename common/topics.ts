// The MQTT topic layout, in one place:
//   machmon/<host>/<metric>           readings (protobuf), published by the host's agent
//   machmon/<host>/status             retained "online"/"offline" (plain text, Last Will)
//   machmon/<host>/confirm/stored     end-to-end confirmations, published only by readers (the ingestor)
//   machmon/$broker/stats             the embedded broker's own figures (JSON), published by the broker
//                                     itself; '$' is in no hostname, so no client can publish there
import { PayloadError } from './errors.js';
import { isMetricName, type MetricName } from './schema.js';

export const TOPIC_ROOT = 'machmon';
export const STATUS = 'status';
export const CONFIRM = 'confirm/stored';
/** The host segment of the broker's own topics: never a hostname (acl.ts allows no '$'). */
export const BROKER_HOST = '$broker';
export const BROKER_STATS_TOPIC = `${TOPIC_ROOT}/${BROKER_HOST}/stats`;

export const metricTopic = (host: string, metric: MetricName) => `${TOPIC_ROOT}/${host}/${metric}`;
export const statusTopic = (host: string) => `${TOPIC_ROOT}/${host}/${STATUS}`;
export const confirmTopic = (host: string) => `${TOPIC_ROOT}/${host}/${CONFIRM}`;
/** What the ingestor subscribes to: readings and status of every host. */
export const INGEST_SUBSCRIPTION = `${TOPIC_ROOT}/+/+`;

export type ParsedTopic =
  | { kind: 'metric'; host: string; metric: MetricName }
  | { kind: 'status'; host: string }
  | { kind: 'confirm'; host: string }
  | { kind: 'brokerStats' };

/** Splits a topic of the layout above; throws PayloadError (reason "topic") for anything else. */
export function parseTopic(topic: string): ParsedTopic {
  // indexOf rather than split: this runs for every reading the ingestor takes.
  const a = topic.indexOf('/');
  const b = a < 0 ? -1 : topic.indexOf('/', a + 1);
  if (b < 0 || b === a + 1 || topic.slice(0, a) !== TOPIC_ROOT) {
    throw new PayloadError('topic', `topic "${topic}" is not ${TOPIC_ROOT}/<host>/<metric>`, { code: 'TOPIC_INVALID' });
  }
  const host = topic.slice(a + 1, b);
  const rest = topic.slice(b + 1);
  if (host === BROKER_HOST) {
    if (topic === BROKER_STATS_TOPIC) return { kind: 'brokerStats' };
    throw new PayloadError('topic', `topic "${topic}": the broker publishes only ${BROKER_STATS_TOPIC}`, { code: 'TOPIC_INVALID' });
  }
  if (rest === STATUS) return { kind: 'status', host };
  if (rest === CONFIRM) return { kind: 'confirm', host };
  if (!rest.includes('/') && isMetricName(rest)) return { kind: 'metric', host, metric: rest };
  throw new PayloadError('unknown_metric', `topic "${topic}": unknown metric "${rest}"`, { code: 'TOPIC_INVALID' });
}
