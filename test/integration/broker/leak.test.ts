// 1000 connect / subscribe / publish / disconnect cycles (one in ten a wrong password)
// leave the broker's heap where it was. The broker runs alone in a child process started
// with --expose-gc (fixtures/broker-process.mjs, on the compiled dist/), so its heap is
// measured after forced GC and without the clients' own allocations.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { expect, it } from 'vitest';
import { startBrokerProcess } from '../../../testkit/broker-process.js';

const PASSWORD = 'cycle password';
/** Heap growth allowed over 1000 cycles after warm-up (measured: 40-65 KB). A leak of half a KB per connection shows. */
const BOUND = 512 * 1024;

it('keeps the heap within a small bound over 1000 connect/disconnect cycles', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-leak-'));
  const broker = startBrokerProcess(dataDir, PASSWORD);
  const { child, exited, next, ask } = broker;

  try {
    const { port } = await next<{ port: number }>();
    const url = `mqtt://127.0.0.1:${port}`;
    const cycle = async (i: number) => {
      const username = `pi-${i % 50}`;
      const opts = { username, password: PASSWORD, clientId: `cycle-${i}`, reconnectPeriod: 0, protocolVersion: 4 as const };
      if (i % 10 === 9) {
        await mqtt.connectAsync(url, { ...opts, password: 'wrong' }, false).then(
          (c) => c.endAsync(true),
          () => undefined,
        );
        return;
      }
      const c = await mqtt.connectAsync(url, opts, false);
      await c.subscribeAsync(`machmon/${username}/confirm/#`, { qos: 1 });
      await c.publishAsync(`machmon/${username}/cpu`, Buffer.alloc(512), { qos: 1 });
      await c.endAsync();
    };

    for (let i = 0; i < 1000; i++) await cycle(i); // warm-up: JIT, caches and pools reach their size
    const before = await ask<{ heap: number }>('heap');
    for (let i = 1000; i < 2000; i++) await cycle(i);
    const after = await ask<{ heap: number; connected: number }>('heap');
    const { refusals } = await ask<{ refusals: Record<string, number> }>('stop');

    expect(after.connected).toBe(0);
    expect(refusals.bad_password).toBe(200);
    expect(after.heap - before.heap).toBeLessThan(BOUND);
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
