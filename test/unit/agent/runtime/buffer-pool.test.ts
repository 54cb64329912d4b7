// The agent's processes keep small Buffers out of Node's shared pool, so a long-lived
// 4-byte Buffer (mqtt-packet's cached remaining lengths) no longer keeps a whole pool block.
import { afterEach, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { unpoolSmallBuffers } from '../../../../agent/runtime/buffer-pool.js';

const poolSize = Buffer.poolSize;
afterEach(() => {
  Buffer.poolSize = poolSize;
});

describe('unpoolSmallBuffers', () => {
  it('before: a small Buffer is a slice of a shared pool block', () => {
    expect(Buffer.allocUnsafe(4).buffer.byteLength).toBe(Buffer.poolSize);
    expect(Buffer.from('abc').buffer.byteLength).toBe(Buffer.poolSize);
  });

  it('after: each small Buffer holds only its own bytes', () => {
    unpoolSmallBuffers();
    expect(Buffer.allocUnsafe(4).buffer.byteLength).toBe(4);
    expect(Buffer.from('abc').buffer.byteLength).toBe(3);
  });

  it("after: the packets MQTT.js writes hold no pool block either (mqtt-packet's length cache)", () => {
    unpoolSmallBuffers();
    const chunks: Buffer[] = [];
    const stream = { write: (b: Buffer) => (chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b)), true), cork() {}, uncork() {} };
    // A remaining length not written before in this process: encoded once, then cached by mqtt-packet.
    const payload = Buffer.alloc(3001);
    mqttPacket.writeToStream({ cmd: 'publish', topic: 'machmon/pi/cpu', payload, qos: 1, messageId: 7, retain: false, dup: false }, stream as never);
    const small = chunks.filter((c) => c.length <= 4);
    expect(small.length).toBeGreaterThan(0);
    for (const c of small) expect(c.buffer.byteLength).toBeLessThan(64);
  });
});
