// Helpers for the procfs collector tests: the recorded fixture trees, temporary copies of
// them, a context for collectors and a logger whose lines the test can read.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../../common/config.js';
import type { CollectorContext } from '../../../agent/collectors/types.js';
import { makePaths } from '../../../agent/read/paths.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/proc');

/** Text of a fixture file, e.g. fixture('x86/out/free-k-t.txt'). */
export const fixture = (rel: string): string => readFileSync(path.join(FIXTURES, rel), 'utf8');

/** A temporary copy of fixture trees (later ones on top), removed by the returned cleanup. */
export function tempTree(...boards: string[]): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'machmon-procfs-'));
  for (const b of boards) cpSync(path.join(FIXTURES, b), root, { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface LogLine {
  level: number;
  msg: string;
  what?: string;
  collector?: string;
}

/** A collector context on `root`, with a pino logger that keeps its lines in `lines`. */
export function context(root: string, agent: Record<string, unknown> = {}): { ctx: CollectorContext; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const config = loadConfig({ raw: { agent: { password: 'x', hostname: 'pi-test', rootDir: root, ...agent } }, sections: ['agent'], env: {} }).agent!;
  return { ctx: { config, paths: makePaths(root), log: pino({ level: 'debug' }, sink) }, lines };
}

/** Device lines of an iostat -d report: name -> numeric columns. */
export function iostatDevices(text: string): Map<string, number[]> {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith('Device'));
  const out = new Map<string, number[]>();
  for (const l of lines.slice(head + 1)) {
    const f = l.trim().split(/\s+/);
    if (f.length < 2 || !f[0]) break;
    out.set(f[0], f.slice(1).map(Number));
  }
  return out;
}

/** Rows of a df report (1K-blocks or -h): filesystem, [type], size, used, avail, use%, mount. */
export function dfRows(text: string, withType = false): { fs: string; type?: string; size: string; used: string; avail: string; pct: string; mount: string }[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const [fs, ...rest] = f;
      const type = withType ? rest.shift() : undefined;
      const [size, used, avail, pct, ...mount] = rest;
      return { fs: fs!, type, size: size!, used: used!, avail: avail!, pct: pct!, mount: mount.join(' ') };
    });
}
