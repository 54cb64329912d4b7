// The recorded machines of test/fixtures (each file's origin in its SOURCES.md): root trees
// per host, recorded outputs, temporary copies, and a collector context on any root.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CollectorContext } from '../agent/collectors/types.js';
import { pathsFromConfig } from '../agent/read/paths.js';
import { agentConfig } from './configs.js';
import { captureLog, type CapturedLog } from './log.js';
import { REPO } from './repo.js';

export const FIXTURES = path.join(REPO, 'test/fixtures');
/** One root tree per recorded host or case (pi3, pi4, x86, w1-good, non-pi, ...). */
export const HOSTS = path.join(FIXTURES, 'hosts');
/** Recorded text that is not a root tree (syslog, journal JSON, ping, utmp). */
export const OUTPUTS = path.join(FIXTURES, 'outputs');

export const hostTree = (name: string): string => path.join(HOSTS, name);
/** Text of a file of a host tree, e.g. hostFile('x86/out/free-k-t.txt'). */
export const hostFile = (rel: string): string => readFileSync(path.join(HOSTS, rel), 'utf8');
/** Text of a recorded output, e.g. output('ping-pi4.txt'). */
export const output = (rel: string): string => readFileSync(path.join(OUTPUTS, rel), 'utf8');

/** A temporary copy of host trees (later ones on top), removed by the returned cleanup. */
export function tempTree(...hosts: string[]): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'machmon-procfs-'));
  // verbatimSymlinks: a tree's relative links (sysfs class -> devices) stay inside the copy.
  for (const h of hosts) cpSync(path.join(HOSTS, h), root, { recursive: true, verbatimSymlinks: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A collector context with the real agent config (`agent` keys on top) and a logger the test reads. */
export function collectorContext(agent: Record<string, unknown> = {}): CapturedLog & { ctx: CollectorContext } {
  const config = agentConfig(agent);
  const captured = captureLog('debug');
  return { ...captured, ctx: { config, paths: pathsFromConfig(config), log: captured.log } };
}

/** A collector context reading procfs, sysfs and sensors all under `root`. */
export const contextOn = (root: string, agent: Record<string, unknown> = {}) => collectorContext({ rootDir: root, temperature: { sysfsRoot: root }, ...agent });

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
