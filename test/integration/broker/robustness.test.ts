// Bad and slow input on real sockets: oversize publishes, malformed and truncated packets
// on raw `net` sockets, connections that never send CONNECT, a client that stops reading.
// After each, the broker keeps serving other clients.
import net from 'node:net';
import { generate, type IConnectPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttFramer } from '../../../broker/mqtt-framer.js';
import { closeOf, collect, connect, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const connectPacket = (username: string, extra: Partial<IConnectPacket> = {}) =>
  generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `raw-${username}-${Math.random().toString(36).slice(2)}`, keepalive: 0, username, password: Buffer.from(PASSWORD), ...extra });

interface Raw {
  socket: net.Socket;
  received: Buffer[];
  closed: Promise<number>;
}

/** A raw TCP connection; `closed` resolves with the ms from open to close. */
async function raw(port: number): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const start = Date.now();
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - start)));
  return { socket, received, closed };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

/** The broker still admits and serves a fresh client. */
async function stillServes(tb: TestBroker) {
  const c = await connect(tb.url, 'pi-alive', PASSWORD);
  const got = collect(c);
  await c.subscribeAsync('machmon/pi-alive/#', { qos: 1 });
  await c.publishAsync('machmon/pi-alive/cpu', 'ok', { qos: 1 });
  await waitFor('own message back', () => got.length === 1);
  await c.endAsync();
}

describe('MQTT framer', () => {
  const publishHeader = (remaining: number) => {
    const bytes = [0x30];
    do {
      let b = remaining % 128;
      remaining = Math.floor(remaining / 128);
      if (remaining > 0) b |= 0x80;
      bytes.push(b);
    } while (remaining > 0);
    return Buffer.from(bytes);
  };

  it('follows packets split at any byte and packed several to a chunk', () => {
    const stream = Buffer.concat([connectPacket('pi-1'), generate({ cmd: 'publish', topic: 'machmon/pi-1/cpu', payload: Buffer.alloc(300, 1), qos: 1, messageId: 7, dup: false, retain: false }), generate({ cmd: 'pingreq' })]);
    const bytewise = new MqttFramer(1000);
    for (const b of stream) expect(bytewise.push(Buffer.from([b]))).toBeUndefined();
    expect(new MqttFramer(1000).push(stream)).toBeUndefined();
    // It is in step: a following oversize header is recognised.
    expect(bytewise.push(publishHeader(1001))).toEqual({ kind: 'too_large', packetType: 3, remainingLength: 1001 });
  });

  it('reports an oversize packet from its header alone', () => {
    const f = new MqttFramer(256 * 1024);
    expect(f.push(publishHeader(256 * 1024))).toBeUndefined();
    const g = new MqttFramer(256 * 1024);
    expect(g.push(publishHeader(2 * 1024 * 1024).subarray(0, 2))).toBeUndefined();
    expect(g.push(publishHeader(2 * 1024 * 1024).subarray(2))).toEqual({ kind: 'too_large', packetType: 3, remainingLength: 2 * 1024 * 1024 });
  });

  it('reports malformed headers', () => {
    expect(new MqttFramer(1e9).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatchObject({ kind: 'malformed' });
    expect(new MqttFramer(1e9).push(Buffer.from([0x00, 0x00]))).toMatchObject({ kind: 'malformed' });
    expect(new MqttFramer(1e9).push(Buffer.from([0xf0, 0x00]))).toMatchObject({ kind: 'malformed' });
  });
});

describe('bad input on a live broker', () => {
  let tb: TestBroker;
  beforeAll(async () => {
    tb = await startTestBroker({ connectTimeoutMs: 400, maxOutgoingBufferBytes: 256 * 1024 });
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('refuses a 2 MiB publish, closes that connection and keeps serving the others', async () => {
    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD);
    const got = collect(reader);
    await reader.subscribeAsync('machmon/#', { qos: 1 });
    const good = await connect(tb.url, 'pi-good', PASSWORD);
    const big = await connect(tb.url, 'pi-big', PASSWORD);
    const closed = closeOf(big);
    const before = tb.broker.refusals.payload_too_large;
    big.publish('machmon/pi-big/logs', Buffer.alloc(2 * 1024 * 1024, 0x61), { qos: 1 });
    for (let i = 0; i < 5; i++) await good.publishAsync('machmon/pi-good/cpu', `n${i}`, { qos: 1 });
    await within(closed, 5000, 'oversize connection closed');
    await waitFor('the good client\'s messages', () => got.length === 5);
    expect(got.every((m) => m.startsWith('machmon/pi-good/cpu'))).toBe(true);
    expect(tb.broker.refusals.payload_too_large).toBe(before + 1);
    const line = tb.lines.find((l) => l.msg === 'payload too large, connection closed');
    expect(line).toMatchObject({ address: '127.0.0.1', limit: 262144 });
    expect(line!.size as number).toBeGreaterThan(2 * 1024 * 1024);
    await Promise.all([reader.endAsync(), good.endAsync(), big.endAsync(true)]);
  });

  it('closes the connection on the header of an oversize publish, before its body is sent', async () => {
    const r = await raw(tb.broker.port);
    r.socket.write(connectPacket('pi-raw'));
    await waitFor('CONNACK', () => r.received.length > 0);
    // Only the fixed header and topic of a 200 MiB publish: the body never comes.
    r.socket.write(Buffer.concat([Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64]), Buffer.from([0, 15]), Buffer.from('machmon/pi-raw/x')]));
    await within(r.closed, 2000, 'connection closed');
  });

  it('takes a payload of exactly maxPayloadBytes and refuses one byte more', async () => {
    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD);
    const got = collect(reader);
    await reader.subscribeAsync('machmon/pi-edge/#', { qos: 1 });
    const edge = await connect(tb.url, 'pi-edge', PASSWORD);
    await edge.publishAsync('machmon/pi-edge/logs', Buffer.alloc(tb.cfg.maxPayloadBytes, 0x62), { qos: 1 });
    await waitFor('the payload at the limit', () => got.length === 1);
    const closed = closeOf(edge);
    edge.publish('machmon/pi-edge/logs', Buffer.alloc(tb.cfg.maxPayloadBytes + 1, 0x63), { qos: 1 });
    await within(closed, 5000, 'connection closed');
    await sleep(100);
    expect(got).toHaveLength(1);
    await Promise.all([reader.endAsync(), edge.endAsync(true)]);
  });

  it.each([
    ['a remaining length longer than 4 bytes', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])],
    ['reserved packet type 0', Buffer.from([0x00, 0x00])],
    ['a wrong protocol name', Buffer.from(connectPacket('pi-1').toString('latin1').replace('MQTT', 'MQXX'), 'latin1')],
    ['protocol level 9', (() => { const b = connectPacket('pi-1'); b[8] = 9; return b; })()],
    ['a PUBLISH before CONNECT', generate({ cmd: 'publish', topic: 'machmon/pi-1/cpu', payload: Buffer.from('x'), qos: 0, dup: false, retain: false })],
    ['two CONNECTs', Buffer.concat([connectPacket('pi-1'), connectPacket('pi-1')])],
    ['random bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  ])('closes a connection that sends %s, and stays up', async (_what, bytes) => {
    const r = await raw(tb.broker.port);
    r.socket.write(bytes);
    await within(r.closed, 2000, 'connection closed');
    await stillServes(tb);
  });

  it('closes a connection whose CONNECT is cut short when it ends', async () => {
    const r = await raw(tb.broker.port);
    r.socket.end(connectPacket('pi-1').subarray(0, 12));
    await within(r.closed, 2000, 'connection closed');
    await stillServes(tb);
  });

  it.each([
    ['never sends anything', Buffer.alloc(0)],
    ['sends half a CONNECT and waits', connectPacket('pi-1').subarray(0, 10)],
  ])('closes a connection that %s after connectTimeoutMs', async (_what, bytes) => {
    const before = tb.broker.refusals.connect_timeout;
    const r = await raw(tb.broker.port);
    if (bytes.length) r.socket.write(bytes);
    const ms = await within(r.closed, 3000, 'connection closed');
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(tb.broker.refusals.connect_timeout).toBe(before + 1);
    expect(r.received).toEqual([]);
  });

  it('drops a client that stops reading without holding up the others', async () => {
    // The slow one: a raw agent that subscribes to its confirm topic, then never reads again.
    const slow = await raw(tb.broker.port);
    slow.socket.write(connectPacket('pi-slow'));
    slow.socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'machmon/pi-slow/confirm/#', qos: 0 }] }));
    await waitFor('CONNACK and SUBACK', () => Buffer.concat(slow.received).length >= 4 + 5);
    slow.socket.pause();

    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD);
    const got = collect(reader);
    await reader.subscribeAsync('machmon/pi-fast/#', { qos: 1 });
    const fast = await connect(tb.url, 'pi-fast', PASSWORD);
    const before = tb.broker.refusals.slow_consumer;
    const chunk = Buffer.alloc(64 * 1024, 0x7a);
    // Far more than loopback socket buffers hold, interleaved with the fast client's traffic.
    for (let i = 0; i < 400 && tb.broker.refusals.slow_consumer === before; i++) {
      reader.publish('machmon/pi-slow/confirm/stored', chunk, { qos: 0 });
      if (i % 20 === 0) await fast.publishAsync('machmon/pi-fast/cpu', `f${i}`, { qos: 1 });
      if (i % 20 === 0) await sleep(1);
    }
    await waitFor('slow client dropped', () => tb.broker.refusals.slow_consumer === before + 1);
    slow.socket.resume(); // a paused socket does not notice the close
    await within(slow.closed, 2000, 'slow client\'s socket closed');
    await fast.publishAsync('machmon/pi-fast/cpu', 'after', { qos: 1 });
    await waitFor('fast traffic after the drop', () => got.some((m) => m.endsWith(' after')));
    expect(tb.lines.some((l) => l.msg === 'client does not read, connection closed')).toBe(true);
    await Promise.all([reader.endAsync(), fast.endAsync()]);
  });
});
