// `machmon ingestor`: an ordinary MQTT client (any broker) with a persistent session that
// takes every reading from machmon/+/+, validates and enriches it, writes it to InfluxDB in
// batches and acknowledges it only once stored (README "Data flow").
//
//   broker --PUBLISH--> mqtt-ack (PUBACK deferred) --> router --> pipeline --> InfluxDB
//                          ^                                         |
//                          +------ PUBACK after the write -----------+--> confirm/stored per host
import os from 'node:os';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { readPemFile } from '../common/config.js';
import type { IngestorConfig } from './config.js';
import type { Logger } from '../common/log.js';
import { endClient } from '../common/mqtt-end.js';
import { newRegistry, startMetricsServer, type MetricsServer } from '../common/prometheus.js';
import type { Service } from '../common/service.js';
import { INGEST_SUBSCRIPTION } from '../common/topics.js';
import { createInfluxWriter } from './influx/index.js';
import { influxProbe, ingestorNotReady, registerIngestorMetrics, type IngestorFigureSource } from './metrics.js';
import { AGENT_VERSION } from '../agent/runtime/version.js';
import { startHomeAssistantBridge, type HomeAssistantBridge } from './home-assistant/bridge.js';
import { deferAcks } from './mqtt-ack.js';
import { NoReplayStore } from './no-replay-store.js';
import { Pipeline } from './pipeline.js';
import { route } from './router.js';
import { IngestorStats } from './stats.js';

export interface Ingestor extends Service {
  readonly stats: IngestorStats;
  readonly client: MqttClient;
  /** The Home Assistant bridge (ingestor.homeAssistant), when on. */
  readonly homeAssistant?: HomeAssistantBridge;
  readonly clientId: string;
  /** The port of /metrics, /healthz and /readyz when ingestor.metrics.enabled. */
  readonly metricsPort?: number;
  /** Resolves once the broker granted the subscription (first time). */
  readonly subscribed: Promise<void>;
  /** Messages taken and not yet acknowledged. */
  pending(): number;
}

/** A rejected message is logged once per host and reason every this often; the rest are counted. */
const REJECT_LOG_EVERY_MS = 10_000;

export async function startIngestor(cfg: IngestorConfig, rootLog: Logger): Promise<Ingestor> {
  const log = rootLog.child({ component: 'ingestor' });
  const clientId = cfg.clientId ?? `machmon-ingestor-${cfg.username}`;
  // ingestor.sharedGroup: several ingestors split the readings (MQTT shared subscription; Mosquitto has them, Aedes 1.x not).
  const subscription = cfg.sharedGroup ? `$share/${cfg.sharedGroup}/${INGEST_SUBSCRIPTION}` : INGEST_SUBSCRIPTION;
  const selfHost = os.hostname();
  const stats = new IngestorStats();
  const ca = cfg.caFile ? readPemFile('ingestor.caFile', cfg.caFile) : undefined;
  const writer = await createInfluxWriter(cfg.influx, log);

  const client = mqtt.connect(cfg.brokerUrl, {
    clientId,
    username: cfg.username,
    password: cfg.password,
    clean: false,
    protocolVersion: 4,
    outgoingStore: new NoReplayStore(),
    ...(ca ? { ca } : {}),
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    manualConnect: true,
    // MQTT.js calls its `debug` logger several times per packet; unless DEBUG asks for it, a
    // no-op (that was ~2 % of the ingestor's CPU, README "Scaling").
    ...(process.env['DEBUG'] ? {} : { log: () => undefined }),
  });

  const rejectLogged = new Map<string, { at: number; suppressed: number }>();
  const logRejected = (host: string | undefined, reason: string, message: string, topic: string) => {
    const key = `${host}\u0000${reason}`;
    const now = Date.now();
    const last = rejectLogged.get(key);
    if (last && now - last.at < REJECT_LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    if (rejectLogged.size > 10_000) rejectLogged.clear();
    rejectLogged.set(key, { at: now, suppressed: 0 });
    log.warn({ host, reason, topic, detail: message, suppressedSinceLast: last?.suppressed ?? 0 }, 'message rejected');
  };

  // README "Home Assistant": its own connection (its own Last Will), fed the readings decoded here.
  const ha = cfg.homeAssistant?.enabled
    ? startHomeAssistantBridge(cfg.homeAssistant, { brokerUrl: cfg.brokerUrl, username: cfg.username, password: cfg.password, clientId: `${clientId}-ha`, ca }, AGENT_VERSION, log)
    : undefined;

  // eslint-disable-next-line prefer-const -- assigned once the acks exist, used by onPublish
  let pipeline: Pipeline;
  const acks = deferAcks(client, {
    onPublish(packet: IPublishPacket, epoch: number) {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const routed = route({ topic: packet.topic, payload, receivedAtMs: Date.now(), retained: packet.retain });
      const messageId = packet.qos > 0 ? packet.messageId : undefined;
      // The broker's own figures (MachmonBroker) are self-metrics like MachmonIngestor: not counted as readings.
      if (routed.kind !== 'points' || !routed.self) stats.received++;
      switch (routed.kind) {
        case 'points':
          pipeline.add({ epoch, messageId, host: routed.self ? undefined : routed.host, seq: routed.seq, lines: routed.lines, self: routed.self });
          if (ha && routed.metric && routed.reading) ha.reading(routed.host, routed.metric, routed.reading.message, routed.reading.header);
          break;
        case 'rejected':
          stats.reject(routed.error.reason);
          logRejected(routed.host, routed.error.reason, routed.error.message, packet.topic);
          pipeline.add({ epoch, messageId, host: routed.host, seq: routed.seq, lines: [] });
          break;
        case 'ignored':
          pipeline.add({ epoch, messageId, lines: [] });
          break;
      }
    },
    shouldPause: () => pipeline.isFull(),
  });

  pipeline = new Pipeline(
    writer,
    acks,
    (topic, payload) =>
      client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
        if (err) log.debug({ err, topic }, 'confirmation not published');
      }),
    stats,
    log,
    { batchSize: cfg.batchSize, flushIntervalMs: cfg.flushIntervalMs, maxPendingMessages: cfg.maxPendingMessages, maxPendingBytes: cfg.maxPendingBytes, retry: cfg.retry, stopTimeoutMs: cfg.stopTimeoutMs },
  );

  let resolveSubscribed!: () => void;
  const subscribed = new Promise<void>((r) => (resolveSubscribed = r));
  let everConnected = false;
  client.on('connect', (connack) => {
    // PUBACKs and confirmations are small: without TCP_NODELAY, Nagle holds them back.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    log.info({ broker: cfg.brokerUrl, clientId, sessionPresent: connack.sessionPresent }, everConnected ? 'reconnected to broker' : 'connected to broker');
    everConnected = true;
    if (connack.sessionPresent) {
      resolveSubscribed();
      return;
    }
    client.subscribe(subscription, { qos: 1 }, (err, granted) => {
      if (err) {
        log.error({ err }, 'subscribe failed');
        return;
      }
      if (granted?.some((g) => g.qos === 128)) {
        log.error({ topic: subscription, username: cfg.username }, `broker refused the subscription to ${subscription}: is "${cfg.username}" listed in broker.readers?`);
        return;
      }
      log.info({ topic: subscription }, 'subscribed');
      resolveSubscribed();
    });
  });
  let lastErrorLog = '';
  client.on('error', (err) => {
    // Refused logins repeat on every reconnect: say it once per distinct error.
    if (err.message === lastErrorLog) return;
    lastErrorLog = err.message;
    // CONNACK 4/5: most often the fleet password where the reader password belongs (README "Security model").
    const refused = (err as { code?: unknown }).code === 4 || (err as { code?: unknown }).code === 5;
    const hint = refused ? `the broker refused the login of "${cfg.username}": ingestor.password must be broker.readerPassword (not the fleet password) and "${cfg.username}" must be in broker.readers` : undefined;
    log.error({ err, broker: cfg.brokerUrl, username: cfg.username, hint }, 'MQTT error');
  });
  client.on('offline', () => log.warn({ broker: cfg.brokerUrl, pending: pipeline.pendingMessages }, 'broker unreachable; reconnecting'));
  client.on('connect', () => (lastErrorLog = ''));

  const selfTimer = setInterval(() => {
    // While InfluxDB is away the counters would only pile up in the pending buffer.
    if (!pipeline.unavailable) pipeline.add({ epoch: acks.epoch, lines: stats.toLines(selfHost, Date.now()), self: true });
  }, cfg.statsIntervalMs);

  let metricsServer: MetricsServer | undefined;
  let stopping = false;
  if (cfg.metrics.enabled) {
    const figures: IngestorFigureSource = { stats, pendingBytes: () => pipeline.pendingBytes, brokerConnected: () => client.connected, influx: influxProbe(writer.url) };
    const registry = newRegistry();
    registerIngestorMetrics(registry, figures);
    try {
      metricsServer = await startMetricsServer({ service: 'ingestor', host: cfg.metrics.host, port: cfg.metrics.port, registry, log, notReady: async () => (stopping ? ['stopping'] : ingestorNotReady(figures)) });
    } catch (err) {
      clearInterval(selfTimer);
      client.end(true);
      await ha?.stop();
      throw err;
    }
  }

  log.info({ broker: cfg.brokerUrl, clientId, influx: writer.url, apiVersion: cfg.influx.apiVersion, metricsPort: metricsServer?.port }, 'ingestor starting');
  pipeline.start();
  client.connect();

  let stopped: Promise<void> | undefined;
  return {
    stats,
    client,
    ...(ha ? { homeAssistant: ha } : {}),
    clientId,
    metricsPort: metricsServer?.port,
    subscribed,
    pending: () => pipeline.pendingMessages,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(selfTimer);
        await pipeline.stop();
        await ha?.stop();
        // Graceful end lets the last confirmations out; a broker that is away gets 2 s.
        await endClient(client);
        await metricsServer?.stop();
        log.info({ stats: { received: stats.received, writtenPoints: stats.writtenPoints, rejected: stats.rejectedTotal, pending: pipeline.pendingMessages } }, 'ingestor stopped');
      })();
      return stopped;
    },
  };
}
