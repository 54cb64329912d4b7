// `machmon up`: broker + ingestor + a local agent in one process, the one-command start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hostKey } from '../broker/credentials.js';
import { loadConfig, readConfigFile, type Config } from '../common/config.js';
import type { JsonObject } from '../common/config-loader.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';
import type { IngestorStats } from '../ingestor/stats.js';
import type { InfluxChoice } from './influxd.js';

export const DEFAULT_UP_CONFIG = './data/machmon.json';

const newSecret = () => randomBytes(18).toString('base64url');

/**
 * Reads the `up` config. Without a file name it uses ./data/machmon.json and creates it on
 * first run with a generated fleet password and reader password, which it prints once with
 * the line to watch the fleet. A ./data/machmon.json from before readers had their own
 * password gets one added (printed the same way); a file given with --config is never
 * rewritten: without broker.readerPassword it fails naming the key. The local agent's
 * password defaults to the fleet password (its host key with broker.auth hostKeys), the
 * ingestor's to the reader password.
 */
export function loadUpConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, defaultFile = DEFAULT_UP_CONFIG): UpConfig {
  const configFile = file ?? defaultFile;
  if (!file && !existsSync(configFile)) createFirstRunConfig(configFile, env);
  let raw = readConfigFile(configFile);
  if (!file) raw = addReaderPassword(configFile, raw, env);
  // The broker section first: the other sections' fallbacks come from its secrets.
  const { broker } = loadConfig({ raw, source: configFile, sections: ['broker'], env });
  const agentRaw = (raw.agent ?? {}) as Record<string, unknown>;
  const hostname = env.MACHMON_AGENT_HOSTNAME ?? (typeof agentRaw.hostname === 'string' ? agentRaw.hostname : os.hostname());
  const local = `mqtt://127.0.0.1:${broker!.port}`;
  const influx = influxFallback(raw, env);
  const fallbacks = {
    // up serves the broker's and the ingestor's /metrics, /healthz and /readyz unless told not to.
    broker: { metrics: { enabled: true } },
    agent: { brokerUrl: local, password: broker!.auth === 'hostKeys' ? hostKey(broker!.secretPassword, hostname) : broker!.secretPassword },
    ingestor: { brokerUrl: local, password: broker!.readerPassword, influx: influx.fallback, metrics: { enabled: true } },
  };
  const config = loadConfig({ raw, source: configFile, sections: ['broker', 'ingestor', 'agent', 'influxd'], env, fallbacks });
  if (config.ingestor!.password === broker!.secretPassword) {
    throw new ConfigError(`invalid configuration in ${configFile}:\n  ingestor.password: is the fleet password (broker.secretPassword), which no longer opens a reader login: leave it out to use broker.readerPassword`);
  }
  const metricsPortSet = (section: 'broker' | 'ingestor') =>
    env[`MACHMON_${section.toUpperCase()}_METRICS_PORT`] !== undefined || (((raw[section] ?? {}) as JsonObject).metrics as JsonObject | undefined)?.port !== undefined;
  return { ...config, influxUrlConfigured: influx.configured, metricsPortConfigured: { broker: metricsPortSet('broker'), ingestor: metricsPortSet('ingestor') } };
}

/** The config of `up`, and whether the user named an InfluxDB (then `up` never starts its own). */
export interface UpConfig extends Config {
  readonly influxUrlConfigured: boolean;
  /** Whether the file or the environment set <section>.metrics.port (else a busy default port gives way to a free one). */
  readonly metricsPortConfigured?: { readonly broker: boolean; readonly ingestor: boolean };
}

/** Can something listen on host:port now? */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * The self-metrics of `up` are on by default, on fixed ports: a second `up` (or anything
 * else) holding the default port must not stop this one, so an unset port that is busy gives
 * way to a free one, said in the log and on the screen. A port set in the config is used as
 * it is (and fails the start when busy).
 */
async function withMetricsPort<C extends { readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number } }>(section: string, cfg: C, configured: boolean, log: Logger): Promise<C> {
  if (!cfg.metrics.enabled || configured || cfg.metrics.port === 0 || (await portFree(cfg.metrics.host, cfg.metrics.port))) return cfg;
  log.warn({ port: cfg.metrics.port, key: `${section}.metrics.port` }, `${section}.metrics: port ${cfg.metrics.port} is in use; serving /metrics on a free port instead (set ${section}.metrics.port to choose one)`);
  return { ...cfg, metrics: { ...cfg.metrics, port: 0 } };
}

/**
 * ingestor.influx.url, when neither the file nor the environment sets it, is the address of
 * the InfluxDB `up` would run itself: http://127.0.0.1:<influxd.port> (8086 by default).
 */
function influxFallback(raw: JsonObject, env: NodeJS.ProcessEnv): { configured: boolean; fallback: JsonObject } {
  const influx = ((raw.ingestor ?? {}) as JsonObject).influx as JsonObject | undefined;
  const configured = env.MACHMON_INGESTOR_INFLUX_URL !== undefined || influx?.url !== undefined;
  const port = Number(env.MACHMON_INFLUXD_PORT ?? ((raw.influxd ?? {}) as JsonObject).port ?? 8086);
  // A bad port is reported by the schema (influxd.port); the fallback only has to be a URL.
  return { configured, fallback: configured || !Number.isInteger(port) ? {} : { url: `http://127.0.0.1:${port}` } };
}

function watchLine(port: number | string, readerPassword: string): string {
  return `mosquitto_sub -h 127.0.0.1 -p ${port} -u ingestor -P '${readerPassword}' -t 'machmon/#' -F '%t %x' | npx machmon decode`;
}

function createFirstRunConfig(file: string, env: NodeJS.ProcessEnv) {
  const password = newSecret();
  const readerPassword = newSecret();
  const host = os.hostname();
  const config = {
    broker: { secretPassword: password, readerPassword, allowedHosts: [host, 'raspberrypi', 'pi-*'] },
    agent: { hostname: host },
    ingestor: {},
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  console.log(
    [
      `Created ${file} with a new fleet password and reader password (shown only this once; they stay in that file).`,
      '',
      'The fleet password: agents log in with their hostname as username and this password:',
      '',
      `    ${password}`,
      '',
      'The reader password, for the ingestor and for watching the fleet (never give it to a Pi):',
      '',
      `    ${readerPassword}`,
      '',
      'Watch the fleet with:',
      '',
      `    ${watchLine(env.MACHMON_BROKER_PORT ?? '1883', readerPassword)}`,
      '',
    ].join('\n'),
  );
}

/** An up config from before broker.readerPassword existed gets one, so readers stop using the fleet password. */
function addReaderPassword(file: string, raw: JsonObject, env: NodeJS.ProcessEnv): JsonObject {
  const broker = raw.broker;
  if (env.MACHMON_BROKER_READER_PASSWORD !== undefined || !broker || typeof broker !== 'object' || Array.isArray(broker) || broker.readerPassword !== undefined) return raw;
  const readerPassword = newSecret();
  const updated = { ...raw, broker: { ...broker, readerPassword } };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600 });
  console.log(
    [
      `Added broker.readerPassword to ${file}: readers (the ingestor, mosquitto_sub) no longer log in with the fleet password.`,
      'The reader password (shown only this once; it stays in that file):',
      '',
      `    ${readerPassword}`,
      '',
      'Watch the fleet with:',
      '',
      `    ${watchLine(env.MACHMON_BROKER_PORT ?? String(broker.port ?? 1883), readerPassword)}`,
      '',
    ].join('\n'),
  );
  return updated;
}

/**
 * Starts InfluxDB (when it is up's own), broker, ingestor and agent. With `screen` (a
 * terminal) it then prints where things are and a status line every few seconds. With
 * `reread`, SIGHUP re-applies the broker's login rules from a fresh read of the config.
 */
export async function startUp(config: UpConfig, log: Logger, screen?: NodeJS.WritableStream, reread?: () => Config): Promise<Service[]> {
  const { startBroker } = await import('../broker/server.js');
  const { reloadOnSignal } = await import('../broker/reload.js');
  const { startIngestor } = await import('../ingestor/ingestor.js');
  const { startAgent } = await import('../agent/runtime/agent.js');
  const { prepareInflux } = await import('./influxd.js');
  const started: Service[] = [];
  try {
    // First, so that the ingestor's first write finds it; stopped last, after the ingestor's last write.
    const influx = await prepareInflux(
      { influxd: config.influxd!, url: config.ingestor!.influx.url, urlConfigured: config.influxUrlConfigured, apiVersion: config.ingestor!.influx.apiVersion },
      log,
    );
    if (influx.influxd) started.push(influx.influxd);
    const broker = await startBroker(await withMetricsPort('broker', config.broker!, config.metricsPortConfigured?.broker ?? true, log), log);
    started.push(broker);
    if (reread) reloadOnSignal(broker, config.broker!, () => reread().broker!, log);
    const ingestor = await startIngestor(await withMetricsPort('ingestor', config.ingestor!, config.metricsPortConfigured?.ingestor ?? true, log), log);
    started.push(ingestor);
    started.push(await startAgent(config.agent!, log));
    const metricsUrls = { broker: metricsUrl(config.broker!.metrics.host, broker.metricsPort), ingestor: metricsUrl(config.ingestor!.metrics.host, ingestor.metricsPort) };
    if (screen) started.push(await startScreen(config, influx, ingestor.stats, screen, metricsUrls));
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
  // Stop in reverse order: the agent first, the broker last.
  return [{ stop: async () => { for (const s of [...started].reverse()) await s.stop(); } }];
}

const metricsUrl = (host: string, port: number | undefined) => (port === undefined ? undefined : `http://${host.includes(':') ? `[${host}]` : host}:${port}`);

async function startScreen(config: UpConfig, influx: InfluxChoice, stats: IngestorStats, screen: NodeJS.WritableStream, metrics: { broker?: string; ingestor?: string }): Promise<Service> {
  const { introLines, startStatusLine } = await import('./up-screen.js');
  const { brokerReaderLogin } = await import('./fleet-watch.js');
  const intro = introLines({ broker: config.broker!, influxUrl: config.ingestor!.influx.url, influx, influxd: config.influxd!, logFile: config.log.file ?? '', agentHost: config.agent!.hostname, metrics });
  screen.write(`${intro.join('\n')}\n`);
  return startStatusLine({ stats, login: brokerReaderLogin(config.broker!), out: screen });
}
