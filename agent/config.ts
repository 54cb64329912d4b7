// The "agent" section of the configuration (README "Configuration reference"). The defaults
// of every group's options are here and nowhere else: the collectors read the resolved values.
import os from 'node:os';
import { METRIC_NAMES } from '../common/schema.js';
import * as z from 'zod/mini';
import { def, hostname, nonEmpty, nonNegativeInt, opt, positiveInt } from '../common/config-kit.js';
import { configLoader } from '../common/config-loader.js';

/** Per-group settings (agent.metrics.<group>); a group without an entry takes the defaults. */
const metricOverrideShape = {
  /** Unset: the collector's default (every group is on by default). */
  enabled: opt(z.boolean()),
  /** Unset: agent.intervalMs. */
  intervalMs: opt(positiveInt),
};
const metricOverride = z.strictObject(metricOverrideShape);
/** A process scan, a journal read and a few pings cost more than the other groups: every 30 s unless told otherwise. */
const SLOW_GROUP_INTERVAL_MS = 30_000;
const slowGroupShape = { enabled: opt(z.boolean()), intervalMs: def(positiveInt, SLOW_GROUP_INTERVAL_MS) };
const metricOverrides = {
  ...(Object.fromEntries(METRIC_NAMES.map((m) => [m, opt(metricOverride)])) as Record<(typeof METRIC_NAMES)[number], z.ZodMiniOptional<typeof metricOverride>>),
  /** top: how many processes (top by CPU) per sample. */
  process: z.prefault(z.strictObject({ ...slowGroupShape, top: def(positiveInt, 10) }), {}),
  /** maxLines: at most this many new log lines per sample. */
  logs: z.prefault(z.strictObject({ ...slowGroupShape, maxLines: def(positiveInt, 100) }), {}),
  latency: z.prefault(z.strictObject(slowGroupShape), {}),
};

export const agentSchema = z.strictObject({
  /** MQTT over TCP (mqtt://, default port 1883) or TLS (mqtts://, 8883); the agent has no WebSocket transport. */
  brokerUrl: def(z.string().check(z.regex(/^(mqtts?|tcp|ssl|tls):\/\/[^/?#\s]+\/?$/, 'must be mqtt://host[:port] or mqtts://host[:port]')), 'mqtt://127.0.0.1:1883'),
  hostname: def(hostname, () => os.hostname()),
  /** The host's key or the fleet password; not needed with a client certificate (certFile). */
  password: opt(nonEmpty),
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
  caFile: opt(z.string()),
  /** This host's client certificate and its key (PEM), for a broker with tls.requireClientCert: the certificate's CN is the hostname. */
  certFile: opt(z.string()),
  keyFile: opt(z.string()),
  system: opt(z.string()),
  /**
   * Where the collectors read the machine (README "Other systems: macOS and Windows"):
   * auto = procfs on Linux, systeminformation elsewhere; procfs = /proc and /sys directly
   * (the Pi's); systeminformation = the systeminformation package, loaded only then.
   */
  source: def(z.enum(['auto', 'procfs', 'systeminformation']), 'auto'),
  /** The systeminformation source: processes(), networkInterfaces() and users() spawn tools; they are called at most this often. */
  systeminformation: z.prefault(z.strictObject({ slowIntervalMs: def(positiveInt, 30_000) }), {}),
  intervalMs: def(positiveInt, 10_000),
  metrics: z.prefault(z.strictObject(metricOverrides), {}),
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
  /**
   * How the agent knows the clock is right (README "Clock without RTC"): auto = wait for
   * systemd-timesyncd's synchronisation where timesyncd runs, else trust the clock;
   * timesyncd = always wait for it; none = trust the clock (a board with a set RTC).
   */
  clock: z.prefault(z.strictObject({ sync: def(z.enum(['auto', 'timesyncd', 'none']), 'auto') }), {}),
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
}).check(
  z.refine((a) => a.password !== undefined || a.certFile !== undefined, { path: ['password'], message: 'required (the host key or the fleet password), unless agent.certFile and agent.keyFile give a client certificate' }),
  z.refine((a) => (a.certFile === undefined) === (a.keyFile === undefined), { path: ['keyFile'], message: 'agent.certFile and agent.keyFile go together' }),
  z.refine((a) => a.certFile === undefined || /^(mqtts|ssl|tls):/.test(a.brokerUrl), { path: ['certFile'], message: 'a client certificate needs an mqtts:// brokerUrl' }),
);

export type AgentConfig = Readonly<z.infer<typeof agentSchema>>;

/** Loads the agent section (and log) alone: what the Pi bundle carries instead of every service's schema. */
export const agentConfigLoader = configLoader({ agent: agentSchema });
