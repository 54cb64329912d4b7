// Configs for tests, loaded through the real schema (defaults included), as the CLI loads them.
import type { AgentConfig } from '../agent/config.js';
import type { BrokerConfig } from '../broker/config.js';
import { loadConfig } from '../common/config.js';
import type { IngestorConfig } from '../ingestor/config.js';

/** The fleet password of test brokers: long, not ASCII, so encodings are exercised. */
export const PASSWORD = 'fleet secret ünïcödé ✓';
/** broker.readerPassword: readers (the ingestor, a person with mosquitto_sub) log in with it, never with the fleet password. */
export const READER_PASSWORD = 'reader secret ✓ not on any Pi';

type Keys = Record<string, unknown>;

/** The agent section; `agent` holds the keys to set (hostname pi-test unless given). */
export function agentConfig(agent: Keys = {}): AgentConfig {
  return loadConfig({ raw: { agent: { password: 'pw', hostname: 'pi-test', ...agent } as never }, sections: ['agent'], env: {} }).agent!;
}

/** The broker section on 127.0.0.1 port 0, fast login throttling, no figures published (statsIntervalMs), sessions under dataDir. */
export function brokerConfig(dataDir: string, overrides: Keys = {}): BrokerConfig {
  const broker = {
    host: '127.0.0.1',
    port: 0,
    secretPassword: PASSWORD,
    readerPassword: READER_PASSWORD,
    allowedHosts: ['raspberrypi', 'pi-*', 'host-?', 'agent-a', 'agent-b'],
    dataDir,
    authThrottle: { baseDelayMs: 1, maxDelayMs: 20 },
    // No machmon/$broker/stats in the middle of tests that count messages; those about it set their own.
    statsIntervalMs: 600_000,
    ...overrides,
  };
  return loadConfig({ raw: { broker } as never, sections: ['broker'], env: {} }).broker!;
}

/** The ingestor section writing into `database` at influxUrl, with short flush, retry and stop times. */
export function ingestorConfig(brokerUrl: string, influxUrl: string, database: string, extra: Keys = {}): IngestorConfig {
  const { influx, ...rest } = extra as { influx?: Keys };
  return loadConfig({
    raw: { ingestor: { brokerUrl, password: 'unused-by-plain-aedes', flushIntervalMs: 100, statsIntervalMs: 600_000, retry: { minMs: 100, maxMs: 500 }, stopTimeoutMs: 1000, ...rest, influx: { url: influxUrl, database, ...influx } } } as never,
    sections: ['ingestor'],
    env: {},
  }).ingestor!;
}
