// The real broker (broker/server.ts) on a random loopback port with its data in a temp dir,
// and MQTT.js clients that log in, subscribe and collect what they receive.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BrokerConfig } from '../broker/config.js';
import { startBroker, type Broker } from '../broker/server.js';
import { brokerConfig } from './configs.js';
import { captureLog, type LogLine } from './log.js';

export interface TestBroker {
  broker: Broker;
  cfg: BrokerConfig;
  lines: LogLine[];
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestBroker(overrides: Record<string, unknown> = {}, opts: { dataDir?: string; keepData?: boolean } = {}): Promise<TestBroker> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-'));
  const cfg = brokerConfig(dataDir, overrides);
  const { log, lines } = captureLog('info');
  const broker = await startBroker(cfg, log);
  return {
    broker,
    cfg,
    lines,
    dataDir,
    url: `mqtt://127.0.0.1:${broker.port}`,
    async stop() {
      await broker.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An MQTT.js client that does not reconnect; resolves once CONNACK 0 arrived, rejects with the refusal. */
export function connect(url: string, username: string | undefined, password: string | undefined, extra: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...extra }, false);
}

/** The CONNACK return code of a refused login (MQTT.js puts it on error.code). */
export async function refusalCode(url: string, username: string | undefined, password: string | undefined): Promise<number> {
  try {
    const c = await connect(url, username, password);
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

/** Messages an MQTT.js client receives, as "topic payload" strings. */
export function collect(client: MqttClient): string[] {
  const got: string[] = [];
  client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
  return got;
}

/** The SUBACK return codes for `filters` (MQTT.js rejects when any is 128; the packet is on the error). */
export async function subackCodes(client: MqttClient, filters: string | string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos });
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted;
  }
}

/** Resolves when the client's connection closes. */
export const closeOf = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));
