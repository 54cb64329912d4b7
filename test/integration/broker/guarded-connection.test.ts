// The stream Aedes reads from (broker/guarded-connection.ts): a large socket read reaches the
// reader at most FEED_BYTES at a time, nothing while held, everything (byte for byte, then
// the end) once released. A real TCP connection on 127.0.0.1; the reader reads as Aedes does
// ('readable', then read() of all that is buffered, the next read only when asked for).
import net from 'node:net';
import { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { FEED_BYTES, GuardedConnection } from '../../../broker/guarded-connection.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function pair(): Promise<{ client: net.Socket; conn: GuardedConnection }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await accepted;
  const conn = new GuardedConnection(socket, {}, { maxRemainingLength: 1 << 20, maxOutgoingBufferBytes: 1 << 20, onProblem: () => undefined });
  closers.push(() => {
    client.destroy();
    conn.destroy();
    server.close();
  });
  return { client, conn };
}

/** Reads like Aedes: on 'readable', everything buffered, one read at a time. */
function reader(conn: GuardedConnection) {
  const reads: Buffer[] = [];
  let ended = false;
  conn.on('readable', () => {
    const b = conn.read() as Buffer | null;
    if (b) reads.push(b);
  });
  conn.on('end', () => (ended = true));
  return { reads, bytes: () => reads.reduce((n, b) => n + b.length, 0), ended: () => ended };
}

const publishes = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => generate({ cmd: 'publish', topic: `machmon/pi-1/cpu`, payload: Buffer.alloc(300, i & 0xff), qos: 1, messageId: i + 1, retain: false, dup: false })));

describe('GuardedConnection', () => {
  it('hands a large read on at most FEED_BYTES at a time, byte for byte, then the end', async () => {
    const { client, conn } = await pair();
    const r = reader(conn);
    const data = publishes(200);
    client.end(data);
    await waitFor('everything and the end', () => r.ended(), 5000);
    expect(Buffer.concat(r.reads).equals(data)).toBe(true);
    expect(Math.max(...r.reads.map((b) => b.length))).toBeLessThanOrEqual(FEED_BYTES);
    expect(r.reads.length).toBeGreaterThanOrEqual(Math.ceil(data.length / FEED_BYTES));
  });

  it('hands nothing on while held, and the rest (read but unparsed, kept) once released', async () => {
    const { client, conn } = await pair();
    const r = reader(conn);
    client.write(publishes(10));
    await waitFor('the first readings', () => r.bytes() > 0, 5000);
    const before = r.bytes();
    conn.hold();
    const data = publishes(300);
    client.end(data);
    await sleep(300);
    expect(r.bytes()).toBeLessThanOrEqual(before + FEED_BYTES);
    expect(r.ended()).toBe(false);
    conn.release();
    await waitFor('everything and the end', () => r.ended(), 5000);
    expect(Buffer.concat(r.reads).equals(Buffer.concat([publishes(10), data]))).toBe(true);
  });
});
