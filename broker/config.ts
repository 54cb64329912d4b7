// The "broker" section of the configuration (README "Configuration reference").
import * as z from 'zod/mini';
import { def, hostname, hostPattern, metricsSchema, nonEmpty, nonNegativeInt, opt, port, positiveInt } from '../common/config-kit.js';
import { DEFAULT_DISCOVERY_PREFIX, DEFAULT_STATE_PREFIX, prefixesApart, topicPrefix } from '../common/home-assistant.js';

/** broker.metrics.port unless set: beside MQTT's 1883/8883. */
export const BROKER_METRICS_PORT = 9883;

export const brokerSchema = z.strictObject({
  host: def(z.string(), '0.0.0.0'),
  port: def(port, 1883),
  /** The fleet password: agents log in with it (broker.auth fleetPassword or both), and host keys are derived from it. */
  secretPassword: nonEmpty,
  /** The readers' own password (README "Security model"): the fleet password, on every Pi's card, never opens a reader login. */
  readerPassword: z.string({ error: (iss) => (iss.input === undefined ? 'required: the password of broker.readers, not the fleet password (see README "Security model")' : undefined) }).check(z.minLength(1, 'must not be empty')),
  /** Which agent logins are accepted: the fleet password, per-host keys (`machmon host-key <hostname>`), or both during a migration. */
  auth: def(z.enum(['fleetPassword', 'hostKeys', 'both']), 'fleetPassword'),
  allowedHosts: def(z.array(hostPattern), ['raspberrypi', 'pi-*']),
  readers: def(z.array(hostname), ['ingestor']),
  /** Hostnames refused whatever their credential (a lost or stolen Pi), and dropped when the config is reloaded. */
  revokedHosts: def(z.array(hostname), []),
  maxPayloadBytes: def(positiveInt, 262144),
  tls: opt(
    z
      .strictObject({
        port: def(port, 8883),
        cert: nonEmpty,
        key: nonEmpty,
        /** PEM file of the CA that signs the clients' certificates (requireClientCert). */
        ca: opt(nonEmpty),
        /** TLS logins need a certificate signed by ca; its CN is the username (a hostname, or a reader), no password needed. */
        requireClientCert: def(z.boolean(), false),
      })
      .check(z.refine((t) => !t.requireClientCert || t.ca !== undefined, { path: ['ca'], message: 'required with requireClientCert: the CA that signs the clients\' certificates' })),
  ),
  websocket: opt(z.strictObject({ port: def(port, 8080) })),
  /** A connection that has not sent CONNECT within this time is closed. */
  connectTimeoutMs: def(positiveInt, 10_000),
  /** A client whose unsent data at the broker exceeds this is disconnected, so one client that stops reading never stalls delivery to the others. */
  maxOutgoingBufferBytes: def(positiveInt, 16 * 1024 * 1024),
  /** Publishes waiting in the broker for delivery, at most: past it the broker stops reading from agents (TCP pushes back, their outboxes hold the readings) until half have gone. */
  maxPendingPublishes: def(positiveInt, 10_000),
  /** After a start, agents are not read from until the persistent sessions found on disk (the ingestor's) are back, at most this long: a fleet reconnecting at once must not bury the ingestor's own reconnect. */
  readerGraceMs: def(nonNegativeInt, 20_000),
  /** QoS 1 messages queued in memory for one persistent session (the ingestor's while it is away), at most; past it messages are not queued for it, counted and logged, and their agents send them again after agent.outbox.confirmTimeoutMs. */
  maxQueuedMessages: def(positiveInt, 100_000),
  /** Failed logins from one address: each refusal is delayed baseDelayMs * 2^(failures-1), at most maxDelayMs; the failure count halves every halfLifeMs; one summary line per address every summaryIntervalMs while failures go on. */
  authThrottle: z.prefault(
    z.strictObject({
      baseDelayMs: def(nonNegativeInt, 100),
      maxDelayMs: def(nonNegativeInt, 5000),
      halfLifeMs: def(positiveInt, 60_000),
      summaryIntervalMs: def(positiveInt, 10_000),
      /** Addresses remembered at once (least recently failed are forgotten first). */
      maxAddresses: def(positiveInt, 10_000),
    }),
    {},
  ),
  /**
   * Several brokers behind one name (scale-out): sessions, retained messages and the routing
   * of messages between brokers in Redis (Debian's redis-server), e.g. "redis://127.0.0.1:6379".
   * Between brokers delivery is at most once; the agents' confirmations cover what is lost.
   * Unset: one broker; subscriptions, retained messages and wills on disk under dataDir/state, QoS 1 queues in memory.
   */
  cluster: opt(
    z.strictObject({
      redisUrl: z.string().check(z.regex(/^redis:\/\/\S+$/, 'must be redis://[user:password@]host[:port][/db]')),
      /** Queued messages a persistent session (the ingestor's) gets when it connects, at most; the rest on its next connect. */
      maxSessionDelivery: def(positiveInt, 1000),
    }),
  ),
  /** /metrics, /healthz and /readyz (README "Self-metrics"). */
  metrics: metricsSchema(BROKER_METRICS_PORT),
  /** How often the broker publishes its figures on machmon/$broker/stats for the ingestor (measurement MachmonBroker). */
  statsIntervalMs: def(positiveInt, 10_000),
  /**
   * Home Assistant's own login (README "Home Assistant"): it may read the discovery and state
   * topics and publish its birth message, nothing else; readers may then also publish there
   * (the ingestor's bridge) and clear a host's retained status (`machmon forget`).
   */
  homeAssistant: opt(
    z
      .strictObject({
        username: def(hostname, 'homeassistant'),
        password: z.string({ error: (iss) => (iss.input === undefined ? 'required: Home Assistant\'s own broker password (neither the fleet nor the reader password)' : undefined) }).check(z.minLength(1, 'must not be empty')),
        discoveryPrefix: def(topicPrefix, DEFAULT_DISCOVERY_PREFIX),
        statePrefix: def(topicPrefix, DEFAULT_STATE_PREFIX),
      })
      .check(z.refine(prefixesApart, { path: ['statePrefix'], message: 'must differ from discoveryPrefix, neither inside the other' })),
  ),
  dataDir: def(z.string(), './data/broker'),
}).check(
  z.refine((b) => b.readerPassword !== b.secretPassword, { path: ['readerPassword'], message: 'must differ from broker.secretPassword: the fleet password is on every Pi, and a reader may read the whole fleet and confirm readings' }),
  z.refine((b) => !b.homeAssistant || (b.homeAssistant.password !== b.secretPassword && b.homeAssistant.password !== b.readerPassword), { path: ['homeAssistant', 'password'], message: 'must differ from broker.secretPassword and broker.readerPassword: Home Assistant may read its own topics only' }),
  z.refine((b) => !b.homeAssistant || !b.readers.includes(b.homeAssistant.username), { path: ['homeAssistant', 'username'], message: 'is also in broker.readers: give Home Assistant a name of its own' }),
);

export type BrokerConfig = Readonly<z.infer<typeof brokerSchema>>;
