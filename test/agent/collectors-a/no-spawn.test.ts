// The cost rule: a collection cycle of the procfs collectors starts no child process.
// Every way Node starts one ends in one of two places: ChildProcess#spawn (spawn, exec,
// execFile, fork — announced on the 'child_process' diagnostics channel, also for functions
// captured at load time, like the imports below) or the spawn_sync binding
// (spawnSync, execSync, execFileSync). Both are watched here.
import { execFile, execFileSync } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../../agent/collectors/index.js';
import { NoDataError, type Collector } from '../../../agent/collectors/types.js';
import { context } from './fixtures.js';

const GROUPS = ['cpusNumber', 'cpu', 'mem', 'disk', 'partitions', 'ioRatio', 'processesNumber', 'process', 'systemAdditionalInfo'] as const;

const spawned: string[] = [];
const onSpawn = () => spawned.push('async');
type SpawnSyncBinding = { spawn: (options: { file: string }) => unknown };
const binding = (process as unknown as { binding(name: string): SpawnSyncBinding }).binding('spawn_sync');
const originalSpawnSync = binding.spawn;

beforeAll(() => {
  dc.subscribe('child_process', onSpawn);
  binding.spawn = function (this: unknown, options: { file: string }) {
    spawned.push(`sync ${options.file}`);
    return originalSpawnSync.call(this, options);
  };
});
afterAll(() => {
  dc.unsubscribe('child_process', onSpawn);
  binding.spawn = originalSpawnSync;
});

describe('cost rule', () => {
  it('the detector sees asynchronous and synchronous child processes', async () => {
    spawned.length = 0;
    await promisify(execFile)('true');
    execFileSync('true');
    expect(spawned).toEqual(['async', 'sync true']);
  });

  it('two collection cycles of every procfs collector on the real /proc spawn nothing', async () => {
    const { ctx } = context('/');
    const collectors = GROUPS.map((g) => (COLLECTORS[g] as { create: (c: typeof ctx) => Collector }).create(ctx));
    spawned.length = 0;
    for (let cycle = 0; cycle < 2; cycle++) {
      const results = await Promise.allSettled(collectors.map((c) => c.collect()));
      results.forEach((r, i) => {
        if (r.status === 'rejected') expect(r.reason, GROUPS[i]).toBeInstanceOf(NoDataError);
      });
    }
    expect(spawned).toEqual([]);
  });
});
