// ingestor/mqtt-ack.ts against MQTT.js 5.16 and a real Aedes broker: messages keep flowing
// while their PUBACKs are held back, no PUBACK goes out before ack(), unacknowledged
// messages come back on reconnect with the same client id, acks of an earlier connection
// are dropped, and shouldPause() stops the flow until resume().
import type { IPublishPacket, MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferAcks, type DeferredAcks } from '../../../ingestor/mqtt-ack.js';
import { connectClient, endClient, publishRaw } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

interface Sub { client: MqttClient; acks: DeferredAcks; received: { id: number; epoch: number; payload: string }[]; pubacks: number[] }

function subscriber(url: string, clientId: string, shouldPause: () => boolean = () => false): Promise<Sub> {
  const client = mqtt.connect(url, { clientId, clean: false, protocolVersion: 4, manualConnect: true, reconnectPeriod: 100 });
  const sub: Sub = { client, received: [], pubacks: [], acks: undefined as unknown as DeferredAcks };
  client.on('packetsend', (p) => {
    if (p.cmd === 'puback') sub.pubacks.push(p.messageId!);
  });
  sub.acks = deferAcks(client, {
    onPublish: (p: IPublishPacket, epoch) => sub.received.push({ id: p.messageId!, epoch, payload: p.payload.toString() }),
    shouldPause,
  });
  client.connect();
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => {
      if (connack.sessionPresent) return resolve(sub);
      client.subscribe('t/#', { qos: 1 }, (err) => (err ? reject(err) : resolve(sub)));
    });
  });
}

let broker: PlainBroker;
let publisher: MqttClient;
const open: MqttClient[] = [];

beforeEach(async () => {
  broker = await startPlainBroker();
  publisher = await connectClient(broker.url, { clientId: 'publisher' });
});
afterEach(async () => {
  for (const c of open.splice(0)) await endClient(c, true);
  await endClient(publisher, true);
  await broker.close();
});

const publishN = async (n: number, from = 0) => {
  for (let i = from; i < from + n; i++) await publishRaw(publisher, `t/${i}`, `m${i}`);
};

describe('deferred PUBACK (mqtt-ack)', () => {
  it('takes every message without a PUBACK, and the broker re-delivers them all to the same client id', async () => {
    const a = await subscriber(broker.url, 'ack-test');
    open.push(a.client);
    await publishN(50);
    await waitFor('50 messages taken', () => a.received.length === 50);
    expect(a.pubacks).toEqual([]);
    // "Crash" before the write: the connection dies with nothing acknowledged.
    await endClient(a.client, true);

    const b = await subscriber(broker.url, 'ack-test');
    open.push(b.client);
    await waitFor('the 50 messages re-delivered', () => b.received.length === 50);
    expect(b.received.map((r) => r.payload).sort()).toEqual(a.received.map((r) => r.payload).sort());
    // Acknowledge the first 30 only.
    for (const r of b.received.slice(0, 30)) expect(b.acks.ack(r.epoch, r.id)).toBe(true);
    expect(b.pubacks).toEqual(b.received.slice(0, 30).map((r) => r.id));
    await sleep(100); // let the PUBACKs reach the broker
    await endClient(b.client, true);

    const c = await subscriber(broker.url, 'ack-test');
    open.push(c.client);
    await waitFor('the 20 unacknowledged messages re-delivered', () => c.received.length === 20);
    await sleep(200);
    expect(c.received.map((r) => r.payload).sort()).toEqual(b.received.slice(30).map((r) => r.payload).sort());
  });

  it('drops acks that belong to an earlier connection', async () => {
    const a = await subscriber(broker.url, 'stale-test');
    open.push(a.client);
    await publishN(5);
    await waitFor('5 messages', () => a.received.length === 5);
    const old = a.received.splice(0);
    // Break the connection; MQTT.js reconnects by itself and the broker re-delivers.
    a.client.stream.destroy();
    await waitFor('re-delivery after reconnect', () => a.received.length === 5);
    expect(a.acks.epoch).not.toBe(old[0]!.epoch);
    for (const r of old) expect(a.acks.ack(r.epoch, r.id)).toBe(false);
    expect(a.pubacks).toEqual([]);
    for (const r of a.received) expect(a.acks.ack(r.epoch, r.id)).toBe(true);
    expect(a.pubacks).toHaveLength(5);
  });

  it('holds further packets while shouldPause() is true and takes them after resume()', async () => {
    let paused = true;
    const a = await subscriber(broker.url, 'pause-test', () => paused && a.received.length >= 10);
    open.push(a.client);
    await publishN(30);
    await waitFor('10 messages', () => a.received.length === 10);
    await sleep(300);
    expect(a.received).toHaveLength(10);
    paused = false;
    a.acks.resume();
    await waitFor('all 30 messages', () => a.received.length === 30);
  });
});
