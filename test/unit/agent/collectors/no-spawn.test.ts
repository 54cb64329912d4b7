// The cost rule: a collection cycle starts no child process, except where the README's
// "Metric groups" says so (latency's ping, logs' journalctl on journal-only systems). The
// counter (testkit/spawn-counter.ts) watches both ways Node starts one.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../../../agent/collectors/index.js';
import { createLogs } from '../../../../agent/collectors/logs.js';
import { createNetworkMetrics } from '../../../../agent/collectors/network-metrics.js';
import { createPiHealth } from '../../../../agent/collectors/pi-health.js';
import { createTemperature } from '../../../../agent/collectors/temperature.js';
import { NoDataError, type Collector } from '../../../../agent/collectors/types.js';
import { collectorContext, contextOn, hostTree } from '../../../../testkit/fixtures.js';
import { spawnCounter } from '../../../../testkit/spawn-counter.js';

const PROCFS_GROUPS = ['cpusNumber', 'cpu', 'mem', 'disk', 'partitions', 'ioRatio', 'processesNumber', 'process', 'systemAdditionalInfo'] as const;
const CYCLES = 3;

async function cycles(c: Collector): Promise<void> {
  for (let i = 0; i < CYCLES; i++) await c.collect().catch(() => undefined);
}

let counter: ReturnType<typeof spawnCounter> | undefined;
afterEach(() => {
  counter?.restore();
  counter = undefined;
});

describe('the spawn counter', () => {
  it('sees asynchronous and synchronous child processes, also through functions imported before it started', async () => {
    counter = spawnCounter();
    await promisify(execFile)('true');
    execFileSync('true');
    expect(counter.started).toEqual(['true', 'true']);
  });

  it('sees logs from the journal start one journalctl per sample', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-nospawn-'));
    try {
      const c = createLogs(collectorContext({ rootDir: root }).ctx);
      counter = spawnCounter();
      await cycles(c);
      expect(counter.started).toEqual(Array(CYCLES).fill('journalctl'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('collectors that must never spawn', () => {
  it('every procfs collector on the real /proc, over several cycles', async () => {
    const { ctx } = contextOn('/');
    const collectors = PROCFS_GROUPS.map((g) => (COLLECTORS[g] as { create: (c: typeof ctx) => Collector }).create(ctx));
    counter = spawnCounter();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const results = await Promise.allSettled(collectors.map((c) => c.collect()));
      results.forEach((r, i) => {
        if (r.status === 'rejected') expect(r.reason, PROCFS_GROUPS[i]).toBeInstanceOf(NoDataError);
      });
    }
    expect(counter.started).toEqual([]);
  });

  const trees: [string, Record<string, unknown>][] = [
    ['this machine', {}],
    ['a Pi 3 tree', { rootDir: hostTree('pi3'), temperature: { sysfsRoot: hostTree('pi3') } }],
    ['a Pi 4 tree with GPIO configured', { rootDir: hostTree('pi4'), temperature: { sysfsRoot: hostTree('pi4'), gpio: { pin: 17 } } }],
    ['a non-Pi tree', { rootDir: hostTree('non-pi'), temperature: { sysfsRoot: hostTree('non-pi') } }],
  ];
  for (const [where, agent] of trees) {
    it(`temperature, networkMetrics and piHealth on ${where}`, async () => {
      const { ctx } = collectorContext(agent);
      const collectors = [createTemperature(ctx), createNetworkMetrics(ctx), createPiHealth(ctx)];
      counter = spawnCounter();
      for (const c of collectors) await cycles(c);
      for (const c of collectors) await c.close?.();
      expect(counter.started).toEqual([]);
    });
  }
});
