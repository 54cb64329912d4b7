// Connect cost does not grow with the fleet (README "Scaling"): every agent keeps a retained
// status, and every agent subscribes to its own confirm topic when it connects. With
// aedes-persistence-level that SUBSCRIBE decoded every retained message (10.6 ms per connect
// at 1,000 hosts, 57 ms at 10,000); the broker's store looks an exact topic up by key.
// Compared: connect + subscribe of the same agents with 100 and with 20,000 retained statuses
// on the broker, as a ratio of medians (a timed absolute would only measure this box).
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { median } from '../../../bench/histogram.js';
import { PASSWORD } from '../../../testkit/configs.js';
import { startTestBroker, type TestBroker } from '../../../testkit/broker.js';

let tb: TestBroker | undefined;
afterEach(async () => {
  await tb?.stop();
  tb = undefined;
});

/** Retained statuses as the fleet leaves them (published through the broker itself, as a last will would). */
async function seedStatuses(b: TestBroker, hosts: number) {
  for (let i = 0; i < hosts; i++) {
    await new Promise<void>((resolve, reject) =>
      b.broker.aedes.publish({ cmd: 'publish', topic: `machmon/pi-seed-${i}/status`, payload: Buffer.from('online'), qos: 0, retain: true, dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }
}

/** Per agent: ms from opening the connection to its SUBACK; connections one after the other. */
async function connectTimes(b: TestBroker, agents: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < agents; i++) {
    const t0 = performance.now();
    const c = await mqtt.connectAsync(b.url, { username: `pi-probe-${i}`, password: PASSWORD, clientId: `machmon-agent-pi-probe-${i}`, reconnectPeriod: 0, protocolVersion: 4 }, false);
    await c.subscribeAsync(`machmon/pi-probe-${i}/confirm/stored`, { qos: 1 });
    times.push(performance.now() - t0);
    await c.endAsync();
  }
  return times;
}

describe('connect cost', () => {
  it('does not grow with the number of retained status messages (100 vs 20,000)', { timeout: 120_000 }, async () => {
    const results: Record<number, number> = {};
    for (const retained of [100, 20_000]) {
      tb = await startTestBroker();
      await seedStatuses(tb, retained);
      await connectTimes(tb, 20); // warm up
      results[retained] = median(await connectTimes(tb, 200));
      await tb.stop();
      tb = undefined;
    }
    const ratio = results[20_000]! / results[100]!;
    console.log(`connect + subscribe, median: ${results[100]!.toFixed(2)} ms with 100 retained, ${results[20_000]!.toFixed(2)} ms with 20,000: ratio ${ratio.toFixed(2)}`);
    // Decoding 20,000 retained messages per SUBSCRIBE made this ratio ~50; a lookup by topic keeps it near 1.
    expect(ratio).toBeLessThan(2);
  });
});
