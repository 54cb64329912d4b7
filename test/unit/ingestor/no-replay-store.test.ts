// ingestor/no-replay-store.ts against MQTT.js 5.16: after a reconnect the client does not
// send the unacknowledged QoS 1 messages (confirmations) of the lost connection again, so
// its 'connect' does not wait for their PUBACKs; MQTT.js's own Store does (the control).
// The server is a bare MQTT speaker on 127.0.0.1 (mqtt-packet) that never sends a PUBACK.
import net from 'node:net';
import mqtt, { Store, type MqttClient } from 'mqtt';
import mqttPacket, { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { NoReplayStore } from '../../../ingestor/no-replay-store.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** Accepts connections, CONNACKs each (session present), records PUBLISH topics per connection, acknowledges nothing. */
async function silentServer() {
  const conns: { socket: net.Socket; publishes: string[] }[] = [];
  const server = net.createServer((socket) => {
    const conn = { socket, publishes: [] as string[] };
    conns.push(conn);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => {
      if (p.cmd === 'connect') socket.write(generate({ cmd: 'connack', returnCode: 0, sessionPresent: true }));
      else if (p.cmd === 'publish') conn.publishes.push(p.topic);
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => {
    for (const c of conns) c.socket.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, conns };
}

async function reconnectWithUnacked(outgoingStore: Store) {
  const server = await silentServer();
  const client: MqttClient = mqtt.connect(`mqtt://127.0.0.1:${server.port}`, { clientId: 'ingestor-store-test', clean: false, protocolVersion: 4, reconnectPeriod: 50, outgoingStore });
  closers.push(() => client.end(true));
  let connects = 0;
  client.on('connect', () => connects++);
  await waitFor('connected', () => connects === 1, 5000);
  for (let i = 0; i < 3; i++) client.publish(`machmon/pi-${i}/confirm/stored`, 'ranges', { qos: 1 });
  await waitFor('three confirmations at the server', () => server.conns[0]?.publishes.length === 3, 5000);
  server.conns[0]!.socket.destroy();
  await waitFor('a second connection', () => server.conns.length === 2, 5000);
  await sleep(300);
  return { connects, resent: server.conns[1]!.publishes.length };
}

describe('NoReplayStore', () => {
  it('does not send the unacknowledged confirmations again, and the reconnect completes', async () => {
    const r = await reconnectWithUnacked(new NoReplayStore());
    expect(r.resent).toBe(0);
    expect(r.connects).toBe(2);
  });

  it('(control) MQTT.js own store sends them again and holds the connect until each is acknowledged', async () => {
    const r = await reconnectWithUnacked(new Store());
    expect(r.resent).toBe(1); // one at a time: the next waits for this one's PUBACK
    expect(r.connects).toBe(1);
  });
});
