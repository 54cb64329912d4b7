// A plain Aedes broker on 127.0.0.1 (the agent runtime tests do not depend on broker/),
// restartable on the same port, plus an observer client that plays the ingestor's part.
import mqtt, { type MqttClient } from 'mqtt';
import { confirmPayloads } from '../../../../common/confirm.js';
import { decodeMetric, isMetricName, type Header } from '../../../../common/schema.js';
import { confirmTopic, parseTopic } from '../../../../common/topics.js';


export interface Seen {
  readonly topic: string;
  readonly metric: string;
  readonly header: Header;
  readonly message: Record<string, unknown>;
  readonly at: number;
}

/** Subscribes machmon/#: records readings and status messages; confirms seqs when told to. */
export class Observer {
  readonly readings: Seen[] = [];
  readonly statuses: { host: string; value: string; retained: boolean }[] = [];
  /** Decides per reading whether to confirm it at once (default: never). */
  confirmIf: (s: Seen) => boolean = () => false;
  readonly confirmed = new Set<number>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const t = parseTopic(topic);
      if (t.kind === 'status') this.statuses.push({ host: t.host, value: payload.toString(), retained: packet.retain });
      if (t.kind !== 'metric' || !isMetricName(t.metric)) return;
      const message = decodeMetric(t.metric, payload) as Record<string, unknown> & { header: Header };
      const seen: Seen = { topic, metric: t.metric, header: message.header, message, at: Date.now() };
      this.readings.push(seen);
      if (this.confirmIf(seen)) this.confirm(t.host, [message.header.seq!]);
    });
  }

  static async connect(url: string): Promise<Observer> {
    const client = mqtt.connect(url, { protocolVersion: 4, clientId: `observer-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 100, clean: true });
    const o = new Observer(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await o.subscribe();
    client.on('connect', () => void o.subscribe());
    return o;
  }

  private subscribe(): Promise<void> {
    return new Promise((resolve, reject) => this.client.subscribe('machmon/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  }

  confirm(host: string, seqs: number[]): void {
    for (const s of seqs) this.confirmed.add(s);
    for (const p of confirmPayloads(seqs)) this.client.publish(confirmTopic(host), p, { qos: 1 });
  }

  /** How many times each seq was seen. */
  counts(): Map<number, number> {
    const m = new Map<number, number>();
    for (const r of this.readings) m.set(r.header.seq!, (m.get(r.header.seq!) ?? 0) + 1);
    return m;
  }

  close(): Promise<void> {
    return new Promise((r) => this.client.end(true, {}, () => r()));
  }
}
