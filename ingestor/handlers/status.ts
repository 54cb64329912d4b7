// machmon/<host>/status: retained "online" / "offline" (plain text, the agent's Last Will),
// stored as measurement Status so dashboards can show hosts online/offline and last seen.
// Point time = receipt time (the text carries none); `retained` = 1 when the broker handed
// out its stored copy on subscribe, so "last seen" panels can skip those.
import { PayloadError } from '../../common/errors.js';
import { escapeKey, escapeMeasurement, formatLine, quoteString } from '../line-protocol.js';
import { INGESTOR_MEASUREMENTS } from '../measurements.js';
import type { Routed } from '../routed.js';

export const STATUS_MEASUREMENT = INGESTOR_MEASUREMENTS.status.measurement;
const MEASUREMENT = escapeMeasurement(STATUS_MEASUREMENT);
const HOSTNAME = escapeKey('hostname');

export function handleStatus(host: string, payload: Uint8Array, receivedAtMs: number, retained: boolean): Routed {
  // An empty retained message is how a retained status is cleared: nothing to store.
  if (payload.length === 0) return { kind: 'ignored' };
  const text = Buffer.from(payload).toString('utf8').trim();
  if (text !== 'online' && text !== 'offline') {
    throw new PayloadError('bad_status', `status of ${host}: "${text.slice(0, 40)}" is neither online nor offline`);
  }
  const line = formatLine(MEASUREMENT, [[HOSTNAME, host]], [['online', `${text === 'online' ? 1 : 0}i`], ['retained', `${retained ? 1 : 0}i`], ['status', quoteString(text)]], receivedAtMs)!;
  return { kind: 'points', host, lines: [line] };
}
