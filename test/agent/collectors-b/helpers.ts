// Shared by the collectors-b tests: a real agent config and logger, fixture paths, and a
// counter of child processes started while a block runs.
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../../common/config.js';
import type { AgentConfig } from '../../../agent/config.js';
import type { CollectorContext } from '../../../agent/collectors/types.js';
import { pathsFromConfig } from '../../../agent/read/paths.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SYS_FIXTURES = path.resolve(here, '../../fixtures/sys');
export const FIXTURES = path.join(here, 'fixtures');
export const sysTree = (name: string) => path.join(SYS_FIXTURES, name);

export interface LogEntry {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real pino logger at debug level whose JSON lines are kept in `entries`. */
export function captureLog() {
  const entries: LogEntry[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void entries.push(JSON.parse(line) as LogEntry) });
  return { log, entries, messages: (msg: string) => entries.filter((e) => e.msg === msg) };
}

/** Agent config through the real schema (defaults included); `agent` holds the keys to set. */
export function agentConfig(agent: Record<string, unknown> = {}): AgentConfig {
  const cfg = loadConfig({ raw: { agent: { password: 'test-password', hostname: 'testhost', ...agent } as never }, sections: ['agent'], env: {} });
  return cfg.agent!;
}

export function makeCtx(agent: Record<string, unknown> = {}) {
  const config = agentConfig(agent);
  const captured = captureLog();
  const ctx: CollectorContext = { config, paths: pathsFromConfig(config), log: captured.log };
  return { ctx, ...captured };
}

/**
 * Counts child processes started (async ones through ChildProcess.prototype.spawn, which
 * spawn/exec/execFile/fork all use, and the sync variants) until restore().
 */
export function spawnCounter() {
  const started: string[] = [];
  const proto = cp.ChildProcess.prototype as unknown as { spawn: (opts: { file?: string }) => unknown };
  const origSpawn = proto.spawn;
  proto.spawn = function (this: unknown, opts: { file?: string }) {
    started.push(opts?.file ?? '?');
    return origSpawn.call(this, opts);
  };
  const mod = cp as unknown as Record<string, (...a: unknown[]) => unknown>;
  const syncNames = ['spawnSync', 'execSync', 'execFileSync'] as const;
  const origSync = syncNames.map((n) => mod[n]!);
  syncNames.forEach((n, i) => {
    mod[n] = (...a: unknown[]) => {
      started.push(String(a[0]));
      return origSync[i]!(...a);
    };
  });
  syncBuiltinESMExports();
  return {
    started,
    restore() {
      proto.spawn = origSpawn;
      syncNames.forEach((n, i) => (mod[n] = origSync[i]!));
      syncBuiltinESMExports();
    },
  };
}
