import { describe, expect, it } from 'vitest';
import { countCpuinfoProcessors, parseCpuList } from '../../../../agent/parse/cpu-list.js';
import { hostFile } from '../../../../testkit/fixtures.js';

describe('cpu lists and /proc/cpuinfo', () => {
  it('counts kernel CPU lists', () => {
    expect(parseCpuList('0-3\n')).toBe(4);
    expect(parseCpuList('0\n')).toBe(1);
    expect(parseCpuList('0,2-5,7\n')).toBe(6);
    expect(parseCpuList('\n')).toBe(0);
    expect(() => parseCpuList('zero')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/not a CPU list/);
  });

  it('agrees with nproc on this machine', () => {
    expect(parseCpuList(hostFile('x86/sys/devices/system/cpu/present'))).toBe(Number(hostFile('x86/out/nproc-all.txt')));
    expect(parseCpuList(hostFile('x86/sys/devices/system/cpu/online'))).toBe(Number(hostFile('x86/out/nproc.txt')));
    expect(countCpuinfoProcessors(hostFile('x86/proc/cpuinfo'))).toBe(Number(hostFile('x86/out/nproc.txt')));
  });

  it('counts the cores of every Pi cpuinfo (Zero W: 1, the others: 4, as iostat reports "(4 CPU)")', () => {
    expect(countCpuinfoProcessors(hostFile('pizero/proc/cpuinfo'))).toBe(1);
    for (const board of ['pi3', 'pi4', 'pi5', 'pizero2']) expect(countCpuinfoProcessors(hostFile(`${board}/proc/cpuinfo`)), board).toBe(4);
    for (const board of ['pi3', 'pi4', 'pi5']) expect(hostFile(`${board}/out/iostat.txt`)).toContain('(4 CPU)');
  });
});
