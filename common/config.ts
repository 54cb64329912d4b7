// One configuration file for every command (SPEC section 5), validated once at start.
// Defaults live in the schema; unknown keys are refused; MACHMON_* environment variables
// override keys (broker.secretPassword <- MACHMON_BROKER_SECRET_PASSWORD).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { METRIC_NAMES } from './schema.js';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const nonEmpty = z.string().min(1, 'must not be empty');
/** Hostname or glob (* and ?) of allowed MQTT usernames. */
const hostPattern = z.string().regex(/^[A-Za-z0-9_.*?-]+$/, 'must be a hostname or a glob of one (letters, digits, . _ - * ?)');
const hostname = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a hostname (letters, digits, . _ -)');

const brokerSchema = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: port.default(1883),
    secretPassword: nonEmpty,
    allowedHosts: z.array(hostPattern).default(['raspberrypi', 'pi-*']),
    readers: z.array(hostname).default(['ingestor']),
    maxPayloadBytes: positiveInt.default(262144),
    tls: z.object({ port: port.default(8883), cert: nonEmpty, key: nonEmpty }).strict().optional(),
    websocket: z.object({ port: port.default(8080) }).strict().optional(),
    /** A connection that has not sent CONNECT within this time is closed. */
    connectTimeoutMs: positiveInt.default(10_000),
    /** A client whose unsent data at the broker exceeds this is disconnected, so one client that stops reading never stalls delivery to the others. */
    maxOutgoingBufferBytes: positiveInt.default(16 * 1024 * 1024),
    /** Failed logins from one address: each refusal is delayed baseDelayMs * 2^(failures-1), at most maxDelayMs; the failure count halves every halfLifeMs; one summary line per address every summaryIntervalMs while failures go on. */
    authThrottle: z
      .object({
        baseDelayMs: z.number().int().min(0).default(100),
        maxDelayMs: z.number().int().min(0).default(5000),
        halfLifeMs: positiveInt.default(60_000),
        summaryIntervalMs: positiveInt.default(10_000),
        /** Addresses remembered at once (least recently failed are forgotten first). */
        maxAddresses: positiveInt.default(10_000),
      })
      .strict()
      .prefault({}),
    /**
     * Several brokers behind one name (scale-out): sessions, retained messages and the routing
     * of messages between brokers in Redis (Debian's redis-server), e.g. "redis://127.0.0.1:6379".
     * Between brokers delivery is at most once; the agents' confirmations cover what is lost.
     * Unset: one broker with its sessions in LevelDB under dataDir.
     */
    cluster: z
      .object({
        redisUrl: z.string().regex(/^redis:\/\/\S+$/, 'must be redis://[user:password@]host[:port][/db]'),
        /** Queued messages a persistent session (the ingestor's) gets when it connects, at most; the rest on its next connect. */
        maxSessionDelivery: positiveInt.default(1000),
      })
      .strict()
      .optional(),
    dataDir: z.string().default('./data/broker'),
  })
  .strict();

/** Per-group settings (agent.metrics.<group>); a group without an entry takes the defaults. */
const metricOverride = z
  .object({
    /** Unset: the group's default (every group is on by default). */
    enabled: z.boolean().optional(),
    /** Unset: the group's default interval, else agent.intervalMs. */
    intervalMs: positiveInt.optional(),
  })
  .strict();
const metricOverrides = {
  ...(Object.fromEntries(METRIC_NAMES.map((m) => [m, metricOverride.optional()])) as Record<(typeof METRIC_NAMES)[number], z.ZodOptional<typeof metricOverride>>),
  /** How many processes (top by CPU) per sample. */
  process: metricOverride.extend({ top: positiveInt.optional() }).strict().optional(),
  /** At most this many new log lines per sample. */
  logs: metricOverride.extend({ maxLines: positiveInt.optional() }).strict().optional(),
};

const agentSchema = z
  .object({
    brokerUrl: z.string().default('mqtt://127.0.0.1:1883'),
    hostname: hostname.default(() => os.hostname()),
    password: nonEmpty,
    /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
    caFile: z.string().optional(),
    system: z.string().optional(),
    intervalMs: positiveInt.default(10_000),
    metrics: z
      .object(metricOverrides)
      .strict()
      .prefault({ process: { intervalMs: 30_000, top: 10 }, logs: { enabled: true } }),
    temperature: z
      .object({
        sysfsRoot: z.string().default('/'),
        sources: z.array(z.enum(['w1', 'thermal', 'gpio', 'mock'])).default(['w1', 'thermal', 'gpio', 'mock']),
        gpio: z.object({ pin: z.number().int().min(0), activeLow: z.boolean().default(false), degreesWhenActive: z.number().default(80), degreesWhenInactive: z.number().default(40) }).strict().optional(),
      })
      .strict()
      .prefault({}),
    /** Root under which the agent reads /proc, /sys, /etc and /var/log directly (tests point it at fixture trees). */
    rootDir: z.string().default('/'),
    latency: z
      .object({
        /** Host (or host:port for the TCP probe) to measure; default: the host of brokerUrl. */
        target: z.string().optional(),
        count: positiveInt.default(3),
        /** auto: ping when a ping binary exists, else the TCP connect time to the broker's port. */
        method: z.enum(['auto', 'icmp', 'tcp']).default('auto'),
        /** Wait for one reply (ping -W) or one TCP connect. */
        timeoutMs: positiveInt.default(2000),
      })
      .strict()
      .prefault({}),
    /** Readings wait here on disk until the ingestor confirms they are stored. */
    outbox: z
      .object({
        maxMessages: positiveInt.default(100_000),
        maxBytes: positiveInt.default(64 * 1024 * 1024),
        /** A reading not confirmed this long after it was sent is sent again. */
        confirmTimeoutMs: positiveInt.default(30_000),
        /** Upper bound on re-sent readings per second (with jitter), so a fleet coming back does not flood the broker. */
        replayPerSecond: positiveInt.default(50),
        /** Written records are flushed to the disk (fdatasync) at most this often; 0 = only on rotation and stop (fewer SD card writes, more lost on a power cut). */
        syncIntervalMs: z.number().int().min(0).default(1000),
      })
      .strict()
      .prefault({}),
    /** Reconnect backoff: starts at min, doubles up to max, with jitter; never gives up. */
    reconnect: z.object({ minMs: positiveInt.default(1000), maxMs: positiveInt.default(60_000) }).strict().prefault({}),
    dataDir: z.string().default('./data/agent'),
  })
  .strict();

const influxSchema = z
  .object({
    url: z.string().url().default('http://127.0.0.1:8086'),
    apiVersion: z.union([z.literal(1), z.literal(2)]).default(1),
    database: nonEmpty.default('metrics'),
    retentionPolicy: nonEmpty.default('Monthly'),
    retentionDuration: z.string().regex(/^\d+[smhdw]$/, 'must be a duration such as 4w or 30d').default('4w'),
    username: z.string().default(''),
    password: z.string().default(''),
    token: z.string().default(''),
    org: z.string().default(''),
    bucket: z.string().default(''),
    timeoutMs: positiveInt.default(10_000),
  })
  .strict();

const ingestorSchema = z
  .object({
    brokerUrl: z.string().default('mqtt://127.0.0.1:1883'),
    username: hostname.default('ingestor'),
    password: nonEmpty,
    /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
    caFile: z.string().optional(),
    clientId: z.string().optional(),
    /** Several ingestors split the readings in this MQTT shared subscription group ($share/<group>/machmon/+/+; Mosquitto, not the embedded broker). Each needs its own clientId. */
    sharedGroup: hostname.optional(),
    influx: influxSchema.prefault({}),
    /** Most points per write; a batch is also written flushIntervalMs after its first message. */
    batchSize: positiveInt.default(5000),
    flushIntervalMs: positiveInt.default(1000),
    /** Messages taken but not yet acknowledged; at this bound the ingestor stops reading from the broker until a write succeeds. */
    maxPendingMessages: positiveInt.default(20_000),
    /** The same bound on the line protocol those messages make (bytes, roughly): 64 MiB. */
    maxPendingBytes: positiveInt.default(64 * 1024 * 1024),
    /** Backoff of writes while InfluxDB is unavailable: starts at minMs, doubles up to maxMs, with jitter; never gives up. */
    retry: z.object({ minMs: positiveInt.default(500), maxMs: positiveInt.default(30_000) }).strict().prefault({}),
    /** How often the ingestor's own counters are written (measurement MachmonIngestor). */
    statsIntervalMs: positiveInt.default(10_000),
    /** On stop, how long to keep trying to write what is pending; what is left stays unacknowledged at the broker. */
    stopTimeoutMs: positiveInt.default(5_000),
    dataDir: z.string().default('./data/ingestor'),
  })
  .strict();

const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    file: z.string().nullable().default(null),
  })
  .strict();

export const configSchema = z
  .object({
    broker: brokerSchema.optional(),
    agent: agentSchema.optional(),
    ingestor: ingestorSchema.optional(),
    log: logSchema.prefault({}),
  })
  .strict();

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

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

interface EnvKey { path: string[]; variable: string; leaf: z.ZodType }

/** Every configurable leaf key with the environment variable that overrides it. */
export function envKeys(): EnvKey[] {
  const out: EnvKey[] = [];
  const walk = (schema: z.ZodType, path: string[]) => {
    const s = unwrap(schema);
    if (s instanceof z.ZodObject) {
      for (const [k, v] of Object.entries(s.shape)) walk(v as z.ZodType, [...path, k]);
    } else {
      out.push({ path, variable: `MACHMON_${path.map(envSegment).join('_')}`, leaf: s });
    }
  };
  walk(configSchema, []);
  return out;
}

function envValue(raw: string, leaf: z.ZodType): Json {
  if (leaf instanceof z.ZodString || leaf instanceof z.ZodEnum) return raw;
  if (leaf instanceof z.ZodArray && !raw.trim().startsWith('[')) return raw.split(',').map((s) => s.trim()).filter(Boolean);
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
  const result = configSchema.safeParse(merged);
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
