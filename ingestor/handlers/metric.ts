// machmon/<host>/<metric>: a protobuf reading -> decoded, validated, enriched points.
import { PayloadError } from '../../common/errors.js';
import { decodeMetricMessage, metricSpec, type MetricName } from '../../common/schema.js';
import { toLines } from '../points.js';
import type { Routed } from '../routed.js';
import { validateReading } from '../validate.js';

export function handleMetric(host: string, metric: MetricName, payload: Uint8Array, receivedAtMs: number): Routed {
  if (payload.length === 0) throw new PayloadError('empty_payload', `${metric} from ${host}: empty payload`);
  let message: Record<string, unknown>;
  try {
    // protobufjs's message object as it is (no toObject copy): unsent fields read null or "".
    message = decodeMetricMessage(metric, payload);
  } catch (err) {
    throw new PayloadError('undecodable', `${metric} from ${host}: payload of ${payload.length} bytes is not a ${metric} message: ${(err as Error).message}`, { cause: err });
  }
  try {
    const header = validateReading(metricSpec(metric), message, host, receivedAtMs);
    const lines = toLines(metric, message, header, receivedAtMs);
    return { kind: 'points', host, metric, seq: header.seq ?? 0, lines, reading: { message, header } };
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    // Rejected for good: confirm its seq too, so the agent stops re-sending it — but only
    // when the reading is the topic host's own (its seq means nothing for another host).
    const header = message.header as { hostname?: string; seq?: number } | undefined;
    const own = header && header.hostname === host;
    return { kind: 'rejected', host, seq: own ? (header.seq ?? 0) : undefined, error: err };
  }
}
