// The broker under a backlog deeper than mqemitter's old stack limit (broker/emitter.ts,
// README "Scaling"): real Aedes, real MQTT.js publishers, a slow reader on a raw socket.
//
// 1. 200,000 publishes queued behind a reader that has stopped reading, with no pushback
//    (maxPendingPublishes above the burst): when the reader reads again the queue drains
//    without recursion. With mqemitter 7.1's own drain this overflowed the stack
//    (mcollina/mqemitter#204): the queued messages have no subscriber, so each one's slot
//    frees inside the previous one's call.
// 2. With a bound, the broker stops reading from the publishers instead of queueing without
//    end, and once the reader catches up every message is delivered.
import net from 'node:net';
import mqttPacket, { generate } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

let tb: TestBroker | undefined;
const clients: MqttClient[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const s of sockets.splice(0)) s.destroy();
  await tb?.stop();
  tb = undefined;
});

/** A reader (username ingestor) on a raw socket, so the test decides when it reads; counts PUBLISHes per topic suffix. */
async function rawReader(port: number, filter: string, qos: 0 | 1) {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const counts = new Map<string, number>();
  let connacked = false;
  let subacked = false;
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') connacked = true;
    else if (p.cmd === 'suback') subacked = true;
    else if (p.cmd === 'publish') {
      const kind = p.topic.slice(p.topic.lastIndexOf('/') + 1);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      if (p.qos === 1) socket.write(generate({ cmd: 'puback', messageId: p.messageId! }));
    }
  });
  socket.on('data', (d: Buffer) => parser.parse(d));
  socket.on('error', () => undefined);
  socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `reader-${Date.now()}`, keepalive: 0, username: 'ingestor', password: Buffer.from(READER_PASSWORD) }));
  await waitFor('CONNACK', () => connacked);
  socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }));
  await waitFor('SUBACK', () => subacked);
  return { socket, counts };
}

async function publisher(url: string, host: string): Promise<MqttClient> {
  const c = await connect(url, host, PASSWORD, { clientId: `machmon-agent-${host}` });
  clients.push(c);
  return c;
}

describe('broker under a deep backlog', () => {
  it('drains 200,000 queued publishes without overflowing the stack', { timeout: 120_000 }, async () => {
    tb = await startTestBroker({ maxPendingPublishes: 1_000_000, maxOutgoingBufferBytes: 64 * 1024 * 1024 });
    const reader = await rawReader(tb.broker.port, 'machmon/+/logs', 0);
    reader.socket.pause();
    // Fill the reader's socket and the broker's delivery slots: 100 deliveries wait for a 'drain' that does not come.
    const big = await publisher(tb.url, 'pi-big');
    const blob = Buffer.alloc(128 * 1024, 0x61);
    for (let i = 0; i < 150; i++) big.publish('machmon/pi-big/logs', blob, { qos: 0 });
    await sleep(500);
    // 1,300 publishers x 200 small QoS 0 publishes that no one subscribed to: they queue behind
    // the stalled slots, about 170 per connection (each hands the broker FEED_BYTES at a time,
    // broker/guarded-connection.ts; the rest waits unread), 220,000 in all.
    const publishers = 1300;
    const pubs: MqttClient[] = [];
    for (let i = 0; i < publishers; i += 50) pubs.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => publisher(tb!.url, `pi-${i + k}`)))));
    for (const [i, c] of pubs.entries()) for (let n = 0; n < 200; n++) c.publish(`machmon/pi-${i}/mem`, 'x', { qos: 0 });
    await waitFor('200,000 queued publishes', () => tb!.broker.stats().waiting >= 200_000, 60_000);
    expect(tb.broker.stats().peakWaiting).toBeGreaterThanOrEqual(200_000);

    reader.socket.resume();
    await waitFor('the queue drained', () => tb!.broker.stats().waiting === 0, 60_000);
    await waitFor('every big message at the reader', () => reader.counts.get('logs') === 150, 30_000);
    // The broker still serves: a QoS 1 round trip from every publisher.
    await Promise.all(pubs.map((c, i) => c.publishAsync(`machmon/pi-${i}/cpu`, 'after', { qos: 1 })));
    expect(tb.broker.aedes.connectedClients).toBe(publishers + 2);
  });

  it('stops reading from agents past maxPendingPublishes and delivers everything once the reader catches up', { timeout: 120_000 }, async () => {
    // Below what 50 agents have read at once (each hands the broker FEED_BYTES at a time, about 13 of these readings: broker/guarded-connection.ts)
    const bound = 200;
    tb = await startTestBroker({ maxPendingPublishes: bound });
    const reader = await rawReader(tb.broker.port, 'machmon/+/cpu', 1);
    reader.socket.pause();
    const agents = 50;
    const each = 1000;
    const window = 100;
    const pubs = await Promise.all(Array.from({ length: agents }, (_, i) => publisher(tb!.url, `pi-${i}`)));
    // Each agent keeps at most `window` publishes unacknowledged, as the real agent does.
    const sent = pubs.map(async (c, i) => {
      const inflight = new Set<Promise<unknown>>();
      for (let n = 0; n < each; n++) {
        const p = c.publishAsync(`machmon/pi-${i}/cpu`, Buffer.alloc(300, 0x62), { qos: 1 }).finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= window) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    });
    await waitFor('the broker to push back', () => tb!.broker.stats().overloads > 0, 30_000);
    expect(tb.lines.some((l) => l.msg.startsWith('overloaded: stopped reading from agents'))).toBe(true);
    // While the reader is stalled the queue stays near its bound (plus what each agent had in flight when reading stopped).
    await sleep(1000);
    expect(tb.broker.stats().peakWaiting).toBeLessThanOrEqual(bound + agents * window);

    // The reader reads slowly from now on; everything arrives, and the broker reads from the agents again.
    reader.socket.resume();
    await Promise.all(sent);
    await waitFor(`all ${agents * each} readings at the reader`, () => reader.counts.get('cpu') === agents * each, 90_000);
    expect(tb.broker.stats().peakWaiting).toBeLessThanOrEqual(bound + agents * window);
    expect(tb.lines.some((l) => l.msg.startsWith('load back under the bound'))).toBe(true);
  });
});
