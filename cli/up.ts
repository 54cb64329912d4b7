// `machmon up`: broker + ingestor + a local agent in one process, the one-command start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostKey } from '../broker/credentials.js';
import { loadConfig, readConfigFile, type Config, type JsonObject } from '../common/config.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';

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
export function loadUpConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, defaultFile = DEFAULT_UP_CONFIG): Config {
  const configFile = file ?? defaultFile;
  if (!file && !existsSync(configFile)) createFirstRunConfig(configFile, env);
  let raw = readConfigFile(configFile);
  if (!file) raw = addReaderPassword(configFile, raw, env);
  // The broker section first: the other sections' fallbacks come from its secrets.
  const { broker } = loadConfig({ raw, source: configFile, sections: ['broker'], env });
  const agentRaw = (raw.agent ?? {}) as Record<string, unknown>;
  const hostname = env.MACHMON_AGENT_HOSTNAME ?? (typeof agentRaw.hostname === 'string' ? agentRaw.hostname : os.hostname());
  const local = `mqtt://127.0.0.1:${broker!.port}`;
  const fallbacks = {
    agent: { brokerUrl: local, password: broker!.auth === 'hostKeys' ? hostKey(broker!.secretPassword, hostname) : broker!.secretPassword },
    ingestor: { brokerUrl: local, password: broker!.readerPassword },
  };
  const config = loadConfig({ raw, source: configFile, sections: ['broker', 'ingestor', 'agent'], env, fallbacks });
  if (config.ingestor!.password === broker!.secretPassword) {
    throw new ConfigError(`invalid configuration in ${configFile}:\n  ingestor.password: is the fleet password (broker.secretPassword), which no longer opens a reader login: leave it out to use broker.readerPassword`);
  }
  return config;
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

/** Starts the three services; with `reread`, SIGHUP re-applies the broker's login rules from a fresh read of the config. */
export async function startUp(config: Config, log: Logger, reread?: () => Config): Promise<Service[]> {
  const { startBroker } = await import('../broker/server.js');
  const { reloadOnSignal } = await import('../broker/reload.js');
  const { startIngestor } = await import('../ingestor/ingestor.js');
  const { startAgent } = await import('../agent/runtime/agent.js');
  const started: Service[] = [];
  try {
    const broker = await startBroker(config.broker!, log);
    started.push(broker);
    if (reread) reloadOnSignal(broker, config.broker!, () => reread().broker!, log);
    started.push(await startIngestor(config.ingestor!, log));
    started.push(await startAgent(config.agent!, log));
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
  // Stop in reverse order: the agent first, the broker last.
  return [{ stop: async () => { for (const s of [...started].reverse()) await s.stop(); } }];
}
