// `machmon up`: broker + ingestor + a local agent in one process, the one-command start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, readConfigFile, type Config } from '../common/config.js';
import type { JsonObject } from '../common/config-loader.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';
import type { IngestorStats } from '../ingestor/stats.js';
import type { InfluxChoice } from './influxd.js';

export const DEFAULT_UP_CONFIG = './data/machmon.json';

/**
 * Reads the `up` config. Without a file name it uses ./data/machmon.json and creates it on
 * first run with a generated fleet password, which it prints once with the line to watch
 * the fleet. Agent and ingestor passwords default to the broker's secretPassword.
 */
export function loadUpConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): UpConfig {
  const configFile = file ?? DEFAULT_UP_CONFIG;
  if (!file && !existsSync(configFile)) createFirstRunConfig(configFile, env);
  const raw = readConfigFile(configFile);
  const broker = (raw.broker ?? {}) as Record<string, unknown>;
  const password = env.MACHMON_BROKER_SECRET_PASSWORD ?? broker.secretPassword;
  const port = Number(env.MACHMON_BROKER_PORT ?? broker.port ?? 1883);
  const local = `mqtt://127.0.0.1:${port}`;
  const shared: Record<string, string> = { brokerUrl: local };
  if (typeof password === 'string') shared.password = password;
  const influx = influxFallback(raw, env);
  const fallbacks = { agent: { ...shared }, ingestor: { ...shared, influx: influx.fallback } };
  const config = loadConfig({ raw, source: configFile, sections: ['broker', 'ingestor', 'agent', 'influxd'], env, fallbacks });
  return { ...config, influxUrlConfigured: influx.configured };
}

/** The config of `up`, and whether the user named an InfluxDB (then `up` never starts its own). */
export interface UpConfig extends Config {
  readonly influxUrlConfigured: boolean;
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

function createFirstRunConfig(file: string, env: NodeJS.ProcessEnv) {
  const password = randomBytes(18).toString('base64url');
  const host = os.hostname();
  const config = {
    broker: { secretPassword: password, allowedHosts: [host, 'raspberrypi', 'pi-*'] },
    agent: { hostname: host },
    ingestor: {},
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const port = env.MACHMON_BROKER_PORT ?? '1883';
  console.log(
    [
      `Created ${file} with a new fleet password (shown only this once; it stays in that file):`,
      '',
      `    ${password}`,
      '',
      'Agents log in with their hostname as username and this password. Watch the fleet with:',
      '',
      `    mosquitto_sub -h 127.0.0.1 -p ${port} -u ingestor -P '${password}' -t 'machmon/#' -F '%t %x' | npx machmon decode`,
      '',
    ].join('\n'),
  );
}

/**
 * Starts InfluxDB (when it is up's own), broker, ingestor and agent. With `screen` (a
 * terminal) it then prints where things are and a status line every few seconds.
 */
export async function startUp(config: UpConfig, log: Logger, screen?: NodeJS.WritableStream): Promise<Service[]> {
  const { startBroker } = await import('../broker/server.js');
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
    started.push(await startBroker(config.broker!, log));
    const ingestor = await startIngestor(config.ingestor!, log);
    started.push(ingestor);
    started.push(await startAgent(config.agent!, log));
    if (screen) started.push(await startScreen(config, influx, ingestor.stats, screen));
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
  // Stop in reverse order: the agent first, the broker last.
  return [{ stop: async () => { for (const s of [...started].reverse()) await s.stop(); } }];
}

async function startScreen(config: UpConfig, influx: InfluxChoice, stats: IngestorStats, screen: NodeJS.WritableStream): Promise<Service> {
  const { introLines, startStatusLine } = await import('./up-screen.js');
  const { brokerReaderLogin } = await import('./fleet-watch.js');
  const intro = introLines({ broker: config.broker!, influxUrl: config.ingestor!.influx.url, influx, influxd: config.influxd!, logFile: config.log.file ?? '', agentHost: config.agent!.hostname });
  screen.write(`${intro.join('\n')}\n`);
  return startStatusLine({ stats, login: brokerReaderLogin(config.broker!), out: screen });
}
