// Child processes started while a block runs. Every way Node starts one ends in one of two
// places: the ChildProcess constructor (spawn, exec, execFile, fork; announced on the
// 'child_process' diagnostics channel, also for functions a module captured at load time) or
// the spawn_sync binding (spawnSync, execSync, execFileSync). Both are watched.
import type { ChildProcess } from 'node:child_process';
import dc from 'node:diagnostics_channel';

type SpawnSyncBinding = { spawn: (options: { file: string }) => unknown };
const binding = (process as unknown as { binding(name: string): SpawnSyncBinding }).binding('spawn_sync');

export interface SpawnCounter {
  /** The programs started so far, in order. */
  readonly started: string[];
  restore(): void;
}

export function spawnCounter(): SpawnCounter {
  const events: (ChildProcess | string)[] = [];
  const onSpawn = (message: unknown) => void events.push((message as { process: ChildProcess }).process);
  const originalSpawnSync = binding.spawn;
  dc.subscribe('child_process', onSpawn);
  binding.spawn = function (this: unknown, options: { file: string }) {
    events.push(options.file);
    return originalSpawnSync.call(this, options);
  };
  return {
    // The channel fires before spawn() sets spawnfile, so names are read when asked.
    get started() {
      return events.map((e) => (typeof e === 'string' ? e : (e.spawnfile ?? '?')));
    },
    restore() {
      dc.unsubscribe('child_process', onSpawn);
      binding.spawn = originalSpawnSync;
    },
  };
}
