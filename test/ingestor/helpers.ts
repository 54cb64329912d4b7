// Shared pieces of the ingestor tests: a real Aedes broker on a random loopback port, real
// MQTT.js publishers, an ingestor config, and bounded waiting.
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfig } from '../../common/config.js';
import type { IngestorConfig } from '../../ingestor/config.js';
import { encodeMetric, type MetricMessages, type MetricName } from '../../common/schema.js';
import { metricTopic } from '../../common/topics.js';

export { startPlainBroker as startBroker, type PlainBroker as TestBroker } from '../helpers/aedes.js';

export async function connectClient(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 200, ...opts });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

export const endClient = (c: MqttClient, force = false) => new Promise<void>((r) => c.end(force, {}, () => r()));

/** Publishes one reading at QoS 1 and waits for the broker's PUBACK. */
export function publishReading<M extends MetricName>(client: MqttClient, host: string, metric: M, message: MetricMessages[M]): Promise<void> {
  return publishRaw(client, metricTopic(host, metric), Buffer.from(encodeMetric(metric, message)));
}

export function publishRaw(client: MqttClient, topic: string, payload: Buffer | string, retain = false): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve())));
}

export function header(host: string, sampleTimeMs: number, seq = 1, system = 'Raspbian') {
  return { hostname: host, system, sampleTimeMs, seq, agentVersion: 'test' };
}

export function ingestorConfig(brokerUrl: string, influxUrl: string, database: string, extra: Record<string, unknown> = {}): IngestorConfig {
  const { influx, ...rest } = extra as { influx?: Record<string, unknown> };
  return loadConfig({
    raw: { ingestor: { brokerUrl, password: 'unused-by-plain-aedes', flushIntervalMs: 100, statsIntervalMs: 600_000, retry: { minMs: 100, maxMs: 500 }, stopTimeoutMs: 1000, ...rest, influx: { url: influxUrl, database, ...influx } } },
    sections: ['ingestor'],
    env: {},
  }).ingestor!;
}

/** Polls `check` every 25 ms until it returns true; throws with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const randomDb = (area: string) => `t_${area}_${Math.random().toString(36).slice(2, 10)}`;
