// The cost rule: temperature, networkMetrics and piHealth never start a child process, on
// fixture trees nor on this machine's real /sys and /proc. logs on a journal-only system
// spawns journalctl once per sample (the positive control: the counter does see spawns).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogs } from '../../../agent/collectors/logs.js';
import { createNetworkMetrics } from '../../../agent/collectors/network-metrics.js';
import { createPiHealth } from '../../../agent/collectors/pi-health.js';
import { createTemperature } from '../../../agent/collectors/temperature.js';
import type { Collector } from '../../../agent/collectors/types.js';
import { makeCtx, spawnCounter, sysTree } from './helpers.js';

const CYCLES = 3;

async function cycles(c: Collector): Promise<void> {
  for (let i = 0; i < CYCLES; i++) await c.collect().catch(() => undefined);
}

let counter: ReturnType<typeof spawnCounter> | undefined;
afterEach(() => {
  counter?.restore();
  counter = undefined;
});

describe('collectors that must never spawn', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['this machine', {}],
    ['a Pi 3 tree', { rootDir: sysTree('pi3'), temperature: { sysfsRoot: sysTree('pi3') } }],
    ['a Pi 4 tree with GPIO configured', { rootDir: sysTree('pi4'), temperature: { sysfsRoot: sysTree('pi4'), gpio: { pin: 17 } } }],
    ['a non-Pi tree', { rootDir: sysTree('non-pi'), temperature: { sysfsRoot: sysTree('non-pi') } }],
  ];
  for (const [where, agent] of cases) {
    it(`temperature, networkMetrics and piHealth on ${where}`, async () => {
      const { ctx } = makeCtx(agent);
      const collectors = [createTemperature(ctx), createNetworkMetrics(ctx), createPiHealth(ctx)];
      counter = spawnCounter();
      for (const c of collectors) await cycles(c);
      for (const c of collectors) await c.close?.();
      expect(counter.started).toEqual([]);
    });
  }
});

describe('the spawn counter sees spawns', () => {
  it('logs from the journal starts one journalctl per sample', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-nospawn-'));
    try {
      const c = createLogs(makeCtx({ rootDir: root }).ctx);
      counter = spawnCounter();
      await cycles(c);
      expect(counter.started).toEqual(Array(CYCLES).fill('journalctl'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
  it('and synchronous spawns through a named import', () => {
    counter = spawnCounter();
    execFileSync('true');
    expect(counter.started).toEqual(['true']);
  });
});
