// /proc/meminfo -> the figures of `free -k -t`.
import type { Reading } from '../collectors/types.js';

/** Key -> value in kB (the unit /proc/meminfo uses for every line that has one). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * The columns of `free -k -t`. "used" is computed as procps-ng 3.3.x prints it
 * (MemTotal - MemFree - Buffers - Cached - SReclaimable, or MemTotal - MemFree when that is
 * negative): the figure the original design stored on Raspbian buster/bullseye. procps-ng
 * 4.0.1 and later (bookworm) print MemTotal - MemAvailable instead; the Mem group keeps the
 * older meaning so that dashboards stay comparable over time. "cached" is Cached +
 * SReclaimable (the buff/cache column minus buffers), shared is Shmem.
 * A figure whose inputs are missing stays unset; `missing` lists the keys that were absent.
 */
export function memFromMeminfo(info: ReadonlyMap<string, number>): { reading: Reading<'mem'>; missing: string[] } {
  const missing: string[] = [];
  const get = (key: string): number | undefined => {
    const v = info.get(key);
    if (v === undefined) missing.push(key);
    return v;
  };
  const total = get('MemTotal');
  const free = get('MemFree');
  const buffers = get('Buffers');
  const pageCache = get('Cached');
  // SReclaimable appeared in Linux 2.6.19; an older kernel simply has no such line.
  const reclaimable = info.get('SReclaimable') ?? 0;
  const shared = info.get('Shmem') ?? info.get('MemShared');
  if (shared === undefined) missing.push('Shmem');
  const swapTotal = get('SwapTotal');
  const swapFree = get('SwapFree');

  const cached = pageCache !== undefined ? pageCache + reclaimable : undefined;
  let used: number | undefined;
  if (total !== undefined && free !== undefined && buffers !== undefined && cached !== undefined) {
    used = total - free - buffers - cached;
    if (used < 0) used = total - free;
  }
  const swapUsed = swapTotal !== undefined && swapFree !== undefined ? swapTotal - swapFree : undefined;
  const sum = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a + b : undefined);

  const reading: Reading<'mem'> = {};
  const set = <K extends keyof Reading<'mem'>>(k: K, v: number | undefined) => {
    if (v !== undefined) reading[k] = v;
  };
  set('totalMemKb', total);
  set('usedMemKb', used);
  set('freeMemKb', free);
  set('sharedMemKb', shared);
  set('buffersMemKb', buffers);
  set('cachedMemKb', cached);
  set('swapTotalKb', swapTotal);
  set('swapUsedKb', swapUsed);
  set('swapFreeKb', swapFree);
  set('totalRamKb', sum(total, swapTotal));
  set('usedRamKb', sum(used, swapUsed));
  set('freeRamKb', sum(free, swapFree));
  return { reading, missing };
}
