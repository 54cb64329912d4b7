import { describe, expect, it } from 'vitest';
import { cpuSplit, parseProcStat } from '../../../../agent/parse/proc-stat.js';
import { hostFile } from '../../../../testkit/fixtures.js';

describe('/proc/stat -> iostat -c', () => {
  const iostatCpu = () => {
    const lines = hostFile('x86/out/iostat-c.txt').split('\n');
    return lines[lines.findIndex((l) => l.startsWith('avg-cpu')) + 1]!.trim().split(/\s+/).map(Number);
  };

  it('gives the since-boot split that iostat printed between the two reads of /proc/stat', () => {
    const before = cpuSplit(parseProcStat(hostFile('x86/proc/stat')).cpu!)!;
    const after = cpuSplit(parseProcStat(hostFile('x86/out/stat-after')).cpu!)!;
    const keys = ['userPercent', 'nicePercent', 'systemPercent', 'iowaitPercent', 'stealPercent', 'idlePercent'] as const;
    iostatCpu().forEach((printed, i) => {
      const k = keys[i]!;
      const lo = Math.min(before[k], after[k]) - 0.005;
      const hi = Math.max(before[k], after[k]) + 0.005;
      expect(printed, k).toBeGreaterThanOrEqual(Math.floor(lo * 100) / 100);
      expect(printed, k).toBeLessThanOrEqual(Math.ceil(hi * 100) / 100);
    });
    expect(Object.values(before).reduce((a, b) => a + b, 0)).toBeCloseTo(100, 9);
  });

  it('splits the ticks between two samples, guest time taken out of user, irq in system', () => {
    const a = parseProcStat('cpu  100 10 50 1000 5 1 2 3 20 4\ncpu0 1 1 1 1 1 1 1 1 1 1\nbtime 1700000000\n');
    const b = parseProcStat('cpu  200 20 80 1100 15 3 5 8 60 8\n');
    expect(a.cpuLines).toBe(1);
    expect(a.btime).toBe(1700000000);
    // deltas: user 100 (guest 40) -> 60, nice 10 (guest_nice 4) -> 6, system 30+2+3 = 35, idle 100, iowait 10, steal 5; total 216
    const s = cpuSplit(b.cpu!, a.cpu!)!;
    expect(s.userPercent).toBeCloseTo((60 / 216) * 100, 9);
    expect(s.nicePercent).toBeCloseTo((6 / 216) * 100, 9);
    expect(s.systemPercent).toBeCloseTo((35 / 216) * 100, 9);
    expect(s.idlePercent).toBeCloseTo((100 / 216) * 100, 9);
    expect(s.iowaitPercent).toBeCloseTo((10 / 216) * 100, 9);
    expect(s.stealPercent).toBeCloseTo((5 / 216) * 100, 9);
  });

  it('has no split when no tick passed, and clamps a counter that stepped back', () => {
    const a = parseProcStat('cpu  100 0 50 1000 5 0 0 0 0 0\n').cpu!;
    expect(cpuSplit(a, a)).toBeUndefined();
    const back = parseProcStat('cpu  110 0 50 1090 4 0 0 0 0 0\n').cpu!;
    const s = cpuSplit(back, a)!;
    expect(s.iowaitPercent).toBe(0);
    expect(s.userPercent).toBeCloseTo(10, 9);
  });

  it('reads the 4-column cpu line of very old kernels', () => {
    expect(parseProcStat('cpu 1 2 3 4\n').cpu).toMatchObject({ user: 1, nice: 2, system: 3, idle: 4, iowait: 0, steal: 0 });
    expect(parseProcStat('intr 1 2\n').cpu).toBeUndefined();
  });
});
