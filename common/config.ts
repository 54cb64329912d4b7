// The configuration of every command (README "Configuration reference"): the sections' schemas
// are in broker/, agent/ and ingestor/config.ts and cli/influxd-config.ts, loading and reporting in config-loader.ts.
import { agentSchema, type AgentConfig } from '../agent/config.js';
import { brokerSchema, type BrokerConfig } from '../broker/config.js';
import { influxdSchema, type InfluxdConfig } from '../cli/influxd-config.js';
import { ingestorSchema, type IngestorConfig } from '../ingestor/config.js';
import { configLoader, type LoadOptions, type LogConfig } from './config-loader.js';

export { readConfigFile, readPemFile, type Json, type JsonObject, type LoadOptions, type LogConfig, type Section } from './config-loader.js';

export interface Config {
  broker?: BrokerConfig;
  agent?: AgentConfig;
  ingestor?: IngestorConfig;
  influxd?: InfluxdConfig;
  log: LogConfig;
}

const all = configLoader({ broker: brokerSchema, agent: agentSchema, ingestor: ingestorSchema, influxd: influxdSchema });

export const configSchema = all.schema;
export const envKeys = all.envKeys;
export const loadConfig = (opts: LoadOptions): Config => all.load(opts);
