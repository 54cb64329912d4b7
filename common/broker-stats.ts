// The embedded broker's figures as it publishes them on machmon/$broker/stats (JSON, QoS 0,
// every broker.statsIntervalMs) and the ingestor stores them (measurement MachmonBroker), so
// Grafana shows the broker without Prometheus (README "Self-metrics"). The broker builds
// them (broker/metrics.ts), the ingestor checks them here before it writes a point: the topic
// is one no client may publish to, but a payload is outside input all the same.
import { PayloadError } from './errors.js';

/** Every figure, an integer: counters since the broker started, gauges now. */
export const BROKER_STATS_FIELDS = [
  /** Connections open now: all, logged in as agents, as readers, not logged in yet; held during an overload. */
  'connections',
  'connectionsAgents',
  'connectionsReaders',
  'connectionsConnecting',
  'connectionsHeld',
  /** Connections accepted since start. */
  'connectionsAccepted',
  /** Logins admitted since start, and refused (every login reason of `refused` together). */
  'logins',
  'loginsRefused',
  /** PUBLISH packets taken from clients, and delivered to clients. */
  'publishesReceived',
  'publishesDelivered',
  /** Bytes read from and written to clients' connections. */
  'bytesReceived',
  'bytesSent',
  /** Retained messages (every host's status) and QoS 1 messages queued for persistent sessions, now. */
  'retainedMessages',
  'queuedMessages',
  /** Messages not queued for a session whose queue was full, since start. */
  'droppedQueued',
  /** Publishes waiting for a delivery slot now, and the most at once since start. */
  'pendingPublishes',
  'pendingPublishesPeak',
  /** Times the broker stopped reading from the agents, and for how long in all (ms). */
  'overloads',
  'overloadMs',
  /** The broker process' resident memory and V8 heap in use. */
  'rssBytes',
  'heapUsedBytes',
] as const;

export type BrokerStatsField = (typeof BROKER_STATS_FIELDS)[number];

export interface BrokerStats {
  /** The broker's machine (os.hostname()), the `hostname` tag of its points. */
  hostname: string;
  /** When the figures were taken, ms since the epoch. */
  timeMs: number;
  /** Figures missing in a run mode are left out (cluster mode keeps no retained or queued counts). */
  figures: Partial<Record<BrokerStatsField, number>>;
  /** Refusals since start by reason (broker/refusals.ts), those above 0. */
  refused: Record<string, number>;
}

export const encodeBrokerStats = (s: BrokerStats): Buffer => Buffer.from(JSON.stringify({ hostname: s.hostname, timeMs: s.timeMs, ...s.figures, refused: s.refused }));

const HOSTNAME = /^[A-Za-z0-9_.-]{1,253}$/;
const REASON = /^[a-z][a-z_]{0,63}$/;
const FIELDS: ReadonlySet<string> = new Set(BROKER_STATS_FIELDS);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const bad = (detail: string) => new PayloadError('broker_stats', `machmon/$broker/stats: ${detail}`);

/** Reads a payload of machmon/$broker/stats; throws PayloadError (reason broker_stats) naming what is wrong. Unknown keys (a newer broker's) are ignored. */
export function decodeBrokerStats(payload: Uint8Array): BrokerStats {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.hostname !== 'string' || !HOSTNAME.test(o.hostname)) throw bad('"hostname" is not a hostname');
  if (!isCount(o.timeMs) || o.timeMs === 0) throw bad('"timeMs" is not a time in ms since the epoch');
  const figures: BrokerStats['figures'] = {};
  for (const [k, v] of Object.entries(o)) {
    if (!FIELDS.has(k)) continue;
    if (!isCount(v)) throw bad(`"${k}" is not a non-negative integer`);
    figures[k as BrokerStatsField] = v;
  }
  const refused: Record<string, number> = {};
  if (o.refused !== undefined) {
    if (!o.refused || typeof o.refused !== 'object' || Array.isArray(o.refused)) throw bad('"refused" is not an object of counts by reason');
    for (const [reason, n] of Object.entries(o.refused)) {
      if (!REASON.test(reason)) throw bad(`"refused" has a key that is not a reason: ${JSON.stringify(reason.slice(0, 40))}`);
      if (!isCount(n)) throw bad(`"refused.${reason}" is not a non-negative integer`);
      refused[reason] = n;
    }
  }
  return { hostname: o.hostname, timeMs: o.timeMs, figures, refused };
}
