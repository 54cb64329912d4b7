// One configuration file for every command (SPEC section 5), validated once at start.
// Defaults live in the schema; unknown keys are refused; MACHMON_* environment variables
// override keys (broker.secretPassword <- MACHMON_BROKER_SECRET_PASSWORD).
import { readFileSync } from 'node:fs';
import os from 'node:os';
// zod/mini (the same engine as zod, functional API): only the parts used here end up in the
// agent's Pi bundle, where the full zod was a third of the file and ~10 MB of memory.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ConfigError } from './errors.js';
import { METRIC_NAMES } from './schema.js';

// English messages ("expected number, received string"); zod/mini loads no locale by itself.
z.config(en());

const port = z.number().check(z.int(), z.minimum(0), z.maximum(65535));
const positiveInt = z.number().check(z.int(), z.positive());
const nonNegativeInt = z.number().check(z.int(), z.minimum(0));
const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
/** Hostname or glob (* and ?) of allowed MQTT usernames. */
const hostPattern = z.string().check(z.regex(/^[A-Za-z0-9_.*?-]+$/, 'must be a hostname or a glob of one (letters, digits, . _ - * ?)'));
const hostname = z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/, 'must be a hostname (letters, digits, . _ -)'));
const def = z._default;
const opt = z.optional;

const brokerSchema = z.strictObject({
  host: def(z.string(), '0.0.0.0'),
  port: def(port, 1883),
  secretPassword: nonEmpty,
  allowedHosts: def(z.array(hostPattern), ['raspberrypi', 'pi-*']),
  readers: def(z.array(hostname), ['ingestor']),
  maxPayloadBytes: def(positiveInt, 262144),
  tls: opt(z.strictObject({ port: def(port, 8883), cert: nonEmpty, key: nonEmpty })),
  websocket: opt(z.strictObject({ port: def(port, 8080) })),
  /** A connection that has not sent CONNECT within this time is closed. */
  connectTimeoutMs: def(positiveInt, 10_000),
  /** A client whose unsent data at the broker exceeds this is disconnected, so one client that stops reading never stalls delivery to the others. */
  maxOutgoingBufferBytes: def(positiveInt, 16 * 1024 * 1024),
  /** Publishes waiting in the broker for delivery, at most: past it the broker stops reading from agents (TCP pushes back, their outboxes hold the readings) until half have gone. */
  maxPendingPublishes: def(positiveInt, 10_000),
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
  dataDir: def(z.string(), './data/broker'),
});

/** Per-group settings (agent.metrics.<group>); a group without an entry takes the defaults. */
const metricOverrideShape = {
  /** Unset: the group's default (every group is on by default). */
  enabled: opt(z.boolean()),
  /** Unset: the group's default interval, else agent.intervalMs. */
  intervalMs: opt(positiveInt),
};
const metricOverride = z.strictObject(metricOverrideShape);
const metricOverrides = {
  ...(Object.fromEntries(METRIC_NAMES.map((m) => [m, opt(metricOverride)])) as Record<(typeof METRIC_NAMES)[number], z.ZodMiniOptional<typeof metricOverride>>),
  /** How many processes (top by CPU) per sample. */
  process: opt(z.strictObject({ ...metricOverrideShape, top: opt(positiveInt) })),
  /** At most this many new log lines per sample. */
  logs: opt(z.strictObject({ ...metricOverrideShape, maxLines: opt(positiveInt) })),
};

const agentSchema = z.strictObject({
  /** MQTT over TCP (mqtt://, default port 1883) or TLS (mqtts://, 8883); the agent has no WebSocket transport. */
  brokerUrl: def(z.string().check(z.regex(/^(mqtts?|tcp|ssl|tls):\/\/[^/?#\s]+\/?$/, 'must be mqtt://host[:port] or mqtts://host[:port]')), 'mqtt://127.0.0.1:1883'),
  hostname: def(hostname, () => os.hostname()),
  password: nonEmpty,
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
  caFile: opt(z.string()),
  system: opt(z.string()),
  intervalMs: def(positiveInt, 10_000),
  metrics: z.prefault(z.strictObject(metricOverrides), { process: { intervalMs: 30_000, top: 10 }, logs: { enabled: true } }),
  temperature: z.prefault(
    z.strictObject({
      sysfsRoot: def(z.string(), '/'),
      sources: def(z.array(z.enum(['w1', 'thermal', 'gpio', 'mock'])), ['w1', 'thermal', 'gpio', 'mock']),
      gpio: opt(z.strictObject({ pin: z.number().check(z.int(), z.minimum(0)), activeLow: def(z.boolean(), false), degreesWhenActive: def(z.number(), 80), degreesWhenInactive: def(z.number(), 40) })),
    }),
    {},
  ),
  /** Root under which the agent reads /proc, /sys, /etc and /var/log directly (tests point it at fixture trees). */
  rootDir: def(z.string(), '/'),
  latency: z.prefault(
    z.strictObject({
      /** Host (or host:port for the TCP probe) to measure; default: the host of brokerUrl. */
      target: opt(z.string()),
      count: def(positiveInt, 3),
      /** auto: ping when a ping binary exists, else the TCP connect time to the broker's port. */
      method: def(z.enum(['auto', 'icmp', 'tcp']), 'auto'),
      /** Wait for one reply (ping -W) or one TCP connect. */
      timeoutMs: def(positiveInt, 2000),
    }),
    {},
  ),
  /** Readings wait here on disk until the ingestor confirms they are stored. */
  outbox: z.prefault(
    z.strictObject({
      maxMessages: def(positiveInt, 100_000),
      maxBytes: def(positiveInt, 64 * 1024 * 1024),
      /** A reading not confirmed this long after it was sent is sent again. */
      confirmTimeoutMs: def(positiveInt, 30_000),
      /** Upper bound on re-sent readings per second (with jitter), so a fleet coming back does not flood the broker. */
      replayPerSecond: def(positiveInt, 50),
      /** Written records are flushed to the disk (fdatasync) at most this often; 0 = only on rotation and stop (fewer SD card writes, more lost on a power cut). */
      syncIntervalMs: def(nonNegativeInt, 1000),
    }),
    {},
  ),
  /** Reconnect backoff: starts at min, doubles up to max, with jitter; never gives up. */
  reconnect: z.prefault(z.strictObject({ minMs: def(positiveInt, 1000), maxMs: def(positiveInt, 60_000) }), {}),
  dataDir: def(z.string(), './data/agent'),
});

const influxSchema = z.strictObject({
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

const ingestorSchema = z.strictObject({
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
  dataDir: def(z.string(), './data/ingestor'),
});

const logSchema = z.strictObject({
  level: def(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  file: def(z.nullable(z.string()), null),
});

export const configSchema = z.strictObject({
  broker: opt(brokerSchema),
  agent: opt(agentSchema),
  ingestor: opt(ingestorSchema),
  log: z.prefault(logSchema, {}),
});

export type BrokerConfig = Readonly<z.infer<typeof brokerSchema>>;
export type AgentConfig = Readonly<z.infer<typeof agentSchema>>;
export type IngestorConfig = Readonly<z.infer<typeof ingestorSchema>>;
export type InfluxConfig = Readonly<z.infer<typeof influxSchema>>;
export type LogConfig = Readonly<z.infer<typeof logSchema>>;
export type Section = 'broker' | 'agent' | 'ingestor';
export interface Config {
  broker?: BrokerConfig;
  agent?: AgentConfig;
  ingestor?: IngestorConfig;
  log: LogConfig;
}

const SECTION_SCHEMAS = { broker: brokerSchema, agent: agentSchema, ingestor: ingestorSchema } as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** `secretPassword` -> `SECRET_PASSWORD`. */
const envSegment = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

type Schema = z.core.$ZodType;
const WRAPPERS = new Set(['default', 'optional', 'prefault', 'nullable']);

function unwrap(schema: Schema): Schema {
  let s = schema;
  while (WRAPPERS.has(s._zod.def.type)) s = (s._zod.def as z.core.$ZodOptionalDef).innerType;
  return s;
}

interface EnvKey { path: string[]; variable: string; leaf: Schema }

/** Every configurable leaf key with the environment variable that overrides it. */
export function envKeys(): EnvKey[] {
  const out: EnvKey[] = [];
  const walk = (schema: Schema, path: string[]) => {
    const s = unwrap(schema);
    if (s._zod.def.type === 'object') {
      for (const [k, v] of Object.entries((s._zod.def as z.core.$ZodObjectDef).shape)) walk(v, [...path, k]);
    } else {
      out.push({ path, variable: `MACHMON_${path.map(envSegment).join('_')}`, leaf: s });
    }
  };
  walk(configSchema, []);
  return out;
}

function envValue(raw: string, leaf: Schema): Json {
  const type = leaf._zod.def.type;
  if (type === 'string' || type === 'enum') return raw;
  if (type === 'array' && !raw.trim().startsWith('[')) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw; // let the schema say what was expected
  }
}

function setPath(obj: JsonObject, path: string[], value: Json) {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as JsonObject;
  }
  cur[path[path.length - 1]!] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export function readConfigFile(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, code: 'CONFIG_UNREADABLE' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err, code: 'CONFIG_UNREADABLE' });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object with the sections broker, agent, ingestor, log`, { code: 'CONFIG_UNREADABLE' });
  }
  return parsed as JsonObject;
}

export interface LoadOptions {
  /** Parsed JSON of the config file ({} when none). */
  raw: JsonObject;
  /** Name used in messages for the raw object (usually the file path). */
  source?: string;
  /** Sections the command needs; they are validated even when absent from the file. */
  sections: readonly Section[];
  env?: NodeJS.ProcessEnv;
  /** Values filled in before validation where the file and environment leave a key unset. */
  fallbacks?: JsonObject;
}

/**
 * Merges file, environment and fallbacks, validates the sections a command needs and
 * returns the frozen result. Throws ConfigError naming every bad key.
 */
export function loadConfig(opts: LoadOptions): Config {
  const env = opts.env ?? process.env;
  const merged = structuredClone(opts.raw);
  const fromEnv = new Map<string, string>();
  for (const key of envKeys()) {
    const raw = env[key.variable];
    if (raw === undefined) continue;
    setPath(merged, key.path, envValue(raw, key.leaf));
    fromEnv.set(key.path.join('.'), key.variable);
  }
  // Sections that the command does not use are not validated beyond being objects.
  for (const name of Object.keys(merged)) {
    if (name in SECTION_SCHEMAS && !opts.sections.includes(name as Section)) {
      if (typeof merged[name] !== 'object' || merged[name] === null) throw new ConfigError(`${name}: must be an object`);
      delete merged[name];
    }
  }
  for (const section of opts.sections) merged[section] ??= {};
  applyFallbacks(merged, opts.fallbacks ?? {});
  const result = z.safeParse(configSchema, merged);
  if (!result.success) {
    const where = opts.source ? ` in ${opts.source}` : '';
    const lines = result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      return keys
        .map((p) => {
          const key = p.join('.') || '(top level)';
          const envVar = fromEnv.get(key);
          const msg = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message.replace(/^Invalid input: /, '');
          return `  ${key}: ${msg}${envVar ? ` (from ${envVar})` : ''}`;
        })
        .join('\n');
    });
    throw new ConfigError(`invalid configuration${where}:\n${lines.join('\n')}`);
  }
  return deepFreeze(result.data as Config);
}

function applyFallbacks(target: JsonObject, fallbacks: JsonObject) {
  for (const [k, v] of Object.entries(fallbacks)) {
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) applyFallbacks(cur, v);
    } else if (cur === undefined && v !== undefined) {
      target[k] = v;
    }
  }
}

/** Reads a PEM file named by a config key; a missing or unreadable file is a ConfigError naming the key. */
export function readPemFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}
