// What the ingestor tests publish: readings and raw payloads from real MQTT.js clients to a
// plain Aedes broker (testkit/aedes.ts), and a database name of their own in the shared influxd.
import mqtt, { type MqttClient } from 'mqtt';
import { encodeMetric, type MetricMessages, type MetricName } from '../common/schema.js';
import { metricTopic } from '../common/topics.js';


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

export const randomDb = (area: string) => `t_${area}_${Math.random().toString(36).slice(2, 10)}`;
