import { describe, expect, it } from 'vitest';
import { memFromMeminfo, parseMeminfo } from '../../../../agent/parse/meminfo.js';
import { hostFile } from '../../../../testkit/fixtures.js';

describe('/proc/meminfo -> free', () => {
  it('matches `free -k -t` recorded at the same moment on this machine', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('x86/proc/meminfo')));
    expect(missing).toEqual([]);
    const free = hostFile('x86/out/free-k-t.txt').split('\n');
    const row = (label: string) => free.find((l) => l.startsWith(label))!.trim().split(/\s+/).slice(1).map(Number);
    const [total, used4, freeKb, shared, buffCache, available] = row('Mem:');
    const [swapTotal, swapUsed, swapFree] = row('Swap:');
    const [tTotal, tUsed, tFree] = row('Total:');
    expect(reading.totalMemKb).toBe(total);
    expect(reading.freeMemKb).toBe(freeKb);
    expect(reading.sharedMemKb).toBe(shared);
    expect(reading.buffersMemKb! + reading.cachedMemKb!).toBe(buffCache);
    // procps-ng 3.3 "used"; the recorded free (4.0.2) prints total - available instead.
    expect(reading.usedMemKb).toBe(total! - freeKb! - buffCache!);
    expect(used4).toBe(total! - available!);
    expect([reading.swapTotalKb, reading.swapUsedKb, reading.swapFreeKb]).toEqual([swapTotal, swapUsed, swapFree]);
    expect(reading.totalRamKb).toBe(tTotal);
    expect(reading.freeRamKb).toBe(tFree);
    expect(reading.usedRamKb).toBe(reading.usedMemKb! + swapUsed!);
    expect(tUsed).toBe(used4! + swapUsed!);
  });

  it('reads a Pi 3 B+ meminfo (with swap) the way procps 3.3 free would', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('pi3/proc/meminfo')));
    expect(missing).toEqual([]);
    // MemTotal 929100, MemFree 281036, Buffers 19376, Cached 277704, SReclaimable 19124, Shmem 16832, SwapTotal 204796, SwapFree 203772
    expect(reading).toEqual({
      totalMemKb: 929100,
      freeMemKb: 281036,
      buffersMemKb: 19376,
      cachedMemKb: 277704 + 19124,
      usedMemKb: 929100 - 281036 - 19376 - 277704 - 19124,
      sharedMemKb: 16832,
      swapTotalKb: 204796,
      swapFreeKb: 203772,
      swapUsedKb: 204796 - 203772,
      totalRamKb: 929100 + 204796,
      usedRamKb: 929100 - 281036 - 19376 - 277704 - 19124 + 204796 - 203772,
      freeRamKb: 281036 + 203772,
    });
  });

  it('reads the Pi 4 capture despite the space its script put before the first line', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('pi4/proc/meminfo')));
    expect(missing).toEqual([]);
    expect(reading.totalMemKb).toBe(3882988);
    expect(reading.freeMemKb).toBe(1742228);
  });

  it('leaves figures unset and names the lines that are missing', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemFree: 400 kB\n'));
    expect(reading).toEqual({ totalMemKb: 1000, freeMemKb: 400 });
    expect(missing.sort()).toEqual(['Buffers', 'Cached', 'Shmem', 'SwapFree', 'SwapTotal']);
  });

  it('falls back to total - free when the cache exceeds what is not free, as procps does', () => {
    const { reading } = memFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemFree: 400 kB\nBuffers: 100 kB\nCached: 600 kB\nShmem: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n'));
    expect(reading.usedMemKb).toBe(600);
  });
});
