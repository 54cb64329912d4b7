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
    const stream = { write: (b: Buffer) => (chunks.push(b), true), cork() {}, uncork() {} };
    // Remaining lengths no other test writes (unit files share a module cache): mqtt-packet
    // encodes each once and keeps it. Its 2-byte number cache may be older than this test, so
    // only the remaining-length chunks are looked at.
    const topic = 'machmon/buffer-pool-test/cpu';
    for (let remaining = 15_001; remaining <= 15_010; remaining++) {
      const payload = Buffer.alloc(remaining - 2 - topic.length - 2);
      mqttPacket.writeToStream({ cmd: 'publish', topic, payload, qos: 1, messageId: 7, retain: false, dup: false }, stream as never);
      const varint = Buffer.from([(remaining % 128) | 0x80, Math.floor(remaining / 128)]);
      const chunk = chunks.find((c) => c.length === 2 && c.equals(varint));
      expect(chunk, `remaining length ${remaining}`).toBeDefined();
      expect(chunk!.buffer.byteLength).toBeLessThan(64);
    }
  });
});
