// The "ingestor" section of the configuration (README "Configuration reference").
import * as z from 'zod/mini';
import { def, hostname, metricsSchema, nonEmpty, nonNegativeInt, opt, positiveInt } from '../common/config-kit.js';
import { DEFAULT_DISCOVERY_PREFIX, DEFAULT_STATE_PREFIX, prefixesApart, topicPrefix } from '../common/home-assistant.js';

/** ingestor.metrics.port unless set: beside InfluxDB's 8086. */
export const INGESTOR_METRICS_PORT = 9886;

export const influxSchema = z.strictObject({
  url: def(z.url(), 'http://127.0.0.1:8086'),
  apiVersion: def(z.union([z.literal(1), z.literal(2)]), 1),
  database: def(nonEmpty, 'metrics'),
  retentionPolicy: def(nonEmpty, 'Monthly'),
  retentionDuration: def(z.string().check(z.regex(/^\d+[smhdw]$/, 'must be a duration such as 4w or 30d')), '4w'),
  username: def(z.string(), ''),
  password: def(z.string(), ''),
  token: def(z.string(), ''),
  org: def(z.string(), ''),
  bucket: def(z.string(), ''),
  timeoutMs: def(positiveInt, 10_000),
});

export const ingestorSchema = z.strictObject({
  brokerUrl: def(z.string(), 'mqtt://127.0.0.1:1883'),
  username: def(hostname, 'ingestor'),
  password: nonEmpty,
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
  caFile: opt(z.string()),
  clientId: opt(z.string()),
  /** Several ingestors split the readings in this MQTT shared subscription group ($share/<group>/machmon/+/+; Mosquitto, not the embedded broker). Each needs its own clientId. */
  sharedGroup: opt(hostname),
  influx: z.prefault(influxSchema, {}),
  /** Most points per write; a batch is also written flushIntervalMs after its first message. */
  batchSize: def(positiveInt, 5000),
  flushIntervalMs: def(positiveInt, 1000),
  /** Messages taken but not yet acknowledged; at this bound the ingestor stops reading from the broker until a write succeeds. */
  maxPendingMessages: def(positiveInt, 20_000),
  /** The same bound on the line protocol those messages make (bytes, roughly): 64 MiB. */
  maxPendingBytes: def(positiveInt, 64 * 1024 * 1024),
  /** Backoff of writes while InfluxDB is unavailable: starts at minMs, doubles up to maxMs, with jitter; never gives up. */
  retry: z.prefault(z.strictObject({ minMs: def(positiveInt, 500), maxMs: def(positiveInt, 30_000) }), {}),
  /** How often the ingestor's own counters are written (measurement MachmonIngestor). */
  statsIntervalMs: def(positiveInt, 10_000),
  /** On stop, how long to keep trying to write what is pending; what is left stays unacknowledged at the broker. */
  stopTimeoutMs: def(positiveInt, 5_000),
  /** /metrics, /healthz and /readyz (README "Self-metrics"). */
  metrics: metricsSchema(INGESTOR_METRICS_PORT),
  /** Home Assistant MQTT discovery for every host (README "Home Assistant"); absent: off. */
  homeAssistant: opt(
    z
      .strictObject({
        enabled: def(z.boolean(), true),
        discoveryPrefix: def(topicPrefix, DEFAULT_DISCOVERY_PREFIX),
        statePrefix: def(topicPrefix, DEFAULT_STATE_PREFIX),
        /** One device config per host (homeassistant/device/<id>/config, Home Assistant 2024.12 and newer) instead of one config per entity. */
        deviceDiscovery: def(z.boolean(), false),
        /** A host's state topic is published at most this often (the groups of a moment go out together; a replayed backlog collapses into its newest readings). */
        stateMinIntervalMs: def(positiveInt, 5000),
        /** A group whose readings stop for this many of its intervals becomes unavailable. */
        unavailableAfterIntervals: def(positiveInt, 3),
        /** After Home Assistant's birth message, discovery is sent again after a random delay up to this. */
        rediscoveryDelayMs: def(nonNegativeInt, 5000),
        /** The device's "Visit" link in Home Assistant, {host} replaced by the hostname (e.g. a Grafana host dashboard). */
        configurationUrl: opt(z.string().check(z.regex(/^(https?:\/\/|homeassistant:\/\/)\S+$/, 'must be an http(s):// or homeassistant:// URL'))),
      })
      .check(z.refine(prefixesApart, { path: ['statePrefix'], message: 'must differ from discoveryPrefix, neither inside the other' })),
  ),
  dataDir: def(z.string(), './data/ingestor'),
}).check(
  z.refine((i) => !(i.homeAssistant?.enabled && i.sharedGroup), { path: ['homeAssistant'], message: 'cannot be on with ingestor.sharedGroup: each ingestor of a shared group sees only a share of every host\'s readings' }),
);

export type IngestorConfig = Readonly<z.infer<typeof ingestorSchema>>;
export type InfluxConfig = Readonly<z.infer<typeof influxSchema>>;
