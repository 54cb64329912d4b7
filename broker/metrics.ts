// The broker's self-metrics (README "Self-metrics"). Its hot paths only add to plain number
// fields (BrokerCounters, the Traffic of the guarded connections, the refusals by reason);
// everything else is read when wanted: by a Prometheus scrape of /metrics (gauges such as
// connections by state, retained and queued messages), and every broker.statsIntervalMs by
// the publisher below, which sends the same figures on machmon/$broker/stats for the ingestor
// to store as MachmonBroker. Names follow Prometheus' conventions: machmon_broker_ prefix,
// _total on counters, base units (bytes, seconds).
import os from 'node:os';
import type { Aedes } from 'aedes';
import type { Registry } from 'prom-client';
import { encodeBrokerStats, type BrokerStats, type BrokerStatsField } from '../common/broker-stats.js';
import type { Logger } from '../common/log.js';
import { collected, unlabelled, type Sample } from '../common/prometheus.js';
import { BROKER_STATS_TOPIC } from '../common/topics.js';
import type { Traffic } from './guarded-connection.js';
import { LOGIN_REFUSALS, REFUSAL_REASONS, type Refusals } from './refusals.js';

/** Counted inline by the broker: one property increment each. */
export class BrokerCounters implements Traffic {
  connectionsAccepted = 0;
  logins = 0;
  publishesReceived = 0;
  publishesDelivered = 0;
  bytesReceived = 0;
  bytesSent = 0;
}

/** What the broker shows of itself, read when scraped or published. */
export interface BrokerFigureSource {
  counters: BrokerCounters;
  refusals: Readonly<Refusals>;
  /** Open connections by state now. */
  connections(): { agent: number; reader: number; connecting: number; held: number };
  /** Undefined where the run mode keeps no such count (broker.cluster: Redis holds them). */
  retained(): number | undefined;
  queuedBySession(): ReadonlyMap<string, number> | undefined;
  load(): { pending: number; peakPending: number; overloads: number; overloadMs: number; droppedQueued: number };
}

/** The figures of one MachmonBroker point. */
export function brokerStats(src: BrokerFigureSource, hostname = os.hostname(), timeMs = Date.now()): BrokerStats {
  const c = src.connections();
  const load = src.load();
  const mem = process.memoryUsage();
  const figures: Partial<Record<BrokerStatsField, number>> = {
    connections: c.agent + c.reader + c.connecting,
    connectionsAgents: c.agent,
    connectionsReaders: c.reader,
    connectionsConnecting: c.connecting,
    connectionsHeld: c.held,
    connectionsAccepted: src.counters.connectionsAccepted,
    logins: src.counters.logins,
    loginsRefused: REFUSAL_REASONS.reduce((n, r) => n + (LOGIN_REFUSALS.has(r) ? src.refusals[r] : 0), 0),
    publishesReceived: src.counters.publishesReceived,
    publishesDelivered: src.counters.publishesDelivered,
    bytesReceived: src.counters.bytesReceived,
    bytesSent: src.counters.bytesSent,
    droppedQueued: load.droppedQueued,
    pendingPublishes: load.pending,
    pendingPublishesPeak: load.peakPending,
    overloads: load.overloads,
    overloadMs: Math.round(load.overloadMs),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
  };
  const retained = src.retained();
  if (retained !== undefined) figures.retainedMessages = retained;
  const queued = src.queuedBySession();
  if (queued) figures.queuedMessages = [...queued.values()].reduce((a, b) => a + b, 0);
  const refused: Record<string, number> = {};
  for (const r of REFUSAL_REASONS) if (src.refusals[r] > 0) refused[r] = src.refusals[r];
  return { hostname, timeMs, figures, refused };
}

/** The broker's metrics on a registry (which already has prom-client's default process metrics). */
export function registerBrokerMetrics(registry: Registry, src: BrokerFigureSource): void {
  const c = src.counters;
  const reasons = (login: boolean) => () => REFUSAL_REASONS.filter((r) => LOGIN_REFUSALS.has(r) === login).map((reason): Sample => [{ reason }, src.refusals[reason]]);
  const metrics: Parameters<typeof collected>[1][] = [
    {
      name: 'machmon_broker_connections',
      help: 'MQTT connections open now, by state: connecting (no login yet), agent, reader.',
      type: 'gauge',
      read: () => {
        const n = src.connections();
        return [[{ state: 'connecting' }, n.connecting], [{ state: 'agent' }, n.agent], [{ state: 'reader' }, n.reader]];
      },
    },
    { name: 'machmon_broker_held_connections', help: 'Agent connections the broker does not read from now (overload pushback, see broker.maxPendingPublishes).', type: 'gauge', read: () => unlabelled(src.connections().held) },
    { name: 'machmon_broker_connections_accepted_total', help: 'TCP, TLS and WebSocket connections accepted since start.', type: 'counter', read: () => unlabelled(c.connectionsAccepted) },
    { name: 'machmon_broker_logins_total', help: 'Logins admitted (CONNACK 0) since start.', type: 'counter', read: () => unlabelled(c.logins) },
    { name: 'machmon_broker_logins_refused_total', help: 'Logins refused since start, by reason (README "Security model").', type: 'counter', read: reasons(true) },
    { name: 'machmon_broker_refused_total', help: 'Other refusals since start, by reason: publishes and subscriptions denied, packets too large or malformed, no CONNECT in time, slow consumers, clients dropped on reload.', type: 'counter', read: reasons(false) },
    { name: 'machmon_broker_publishes_received_total', help: 'PUBLISH packets accepted from clients since start.', type: 'counter', read: () => unlabelled(c.publishesReceived) },
    { name: 'machmon_broker_publishes_delivered_total', help: 'Messages delivered to subscribers since start (one per subscriber).', type: 'counter', read: () => unlabelled(c.publishesDelivered) },
    { name: 'machmon_broker_received_bytes_total', help: 'Bytes read from client connections since start.', type: 'counter', read: () => unlabelled(c.bytesReceived) },
    { name: 'machmon_broker_sent_bytes_total', help: 'Bytes written to client connections since start.', type: 'counter', read: () => unlabelled(c.bytesSent) },
    {
      name: 'machmon_broker_retained_messages',
      help: 'Retained messages held now (every host\'s status).',
      type: 'gauge',
      read: () => {
        const n = src.retained();
        return n === undefined ? [] : unlabelled(n);
      },
    },
    {
      name: 'machmon_broker_queued_messages',
      help: 'QoS 1 messages queued now per persistent session (the ingestor\'s), by client id.',
      type: 'gauge',
      read: () => [...(src.queuedBySession() ?? new Map<string, number>())].map(([client_id, n]): Sample => [{ client_id }, n]),
    },
    { name: 'machmon_broker_queued_messages_dropped_total', help: 'Messages not queued for a session whose queue was full (broker.maxQueuedMessages) since start.', type: 'counter', read: () => unlabelled(src.load().droppedQueued) },
    { name: 'machmon_broker_pending_publishes', help: 'Publishes waiting in the broker for a delivery slot now.', type: 'gauge', read: () => unlabelled(src.load().pending) },
    { name: 'machmon_broker_pending_publishes_peak', help: 'Most publishes that waited at once since start.', type: 'gauge', read: () => unlabelled(src.load().peakPending) },
    { name: 'machmon_broker_overloads_total', help: 'Times the broker stopped reading from the agents (more than broker.maxPendingPublishes waiting) since start.', type: 'counter', read: () => unlabelled(src.load().overloads) },
    { name: 'machmon_broker_overload_seconds_total', help: 'Time the broker did not read from the agents since start.', type: 'counter', read: () => unlabelled(src.load().overloadMs / 1000) },
  ];
  for (const m of metrics) collected(registry, m);
}

/** Publishes the figures on machmon/$broker/stats every intervalMs (QoS 0: the next ones follow). */
export function startStatsPublisher(aedes: Aedes, src: BrokerFigureSource, intervalMs: number, log: Logger): { stop(): void } {
  let failed = false;
  const timer = setInterval(() => {
    const payload = encodeBrokerStats(brokerStats(src));
    aedes.publish({ cmd: 'publish', topic: BROKER_STATS_TOPIC, payload, qos: 0, retain: false, dup: false }, (err?: Error) => {
      if (err && !failed) log.warn({ err }, 'broker figures not published');
      failed = Boolean(err);
    });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
