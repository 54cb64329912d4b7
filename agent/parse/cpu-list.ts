// CPU counts: the kernel's CPU lists (/sys/devices/system/cpu/{possible,present,online})
// and /proc/cpuinfo as a fallback.
import { SensorError } from '../../common/errors.js';

/** Number of CPUs in a kernel CPU list such as "0-3", "0,2-5" or "0" (trailing newline allowed). */
export function parseCpuList(text: string): number {
  const s = text.trim();
  if (s === '') return 0;
  let n = 0;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new SensorError(`not a CPU list: ${JSON.stringify(s.slice(0, 40))}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new SensorError(`not a CPU list: ${JSON.stringify(s.slice(0, 40))}`);
    n += b - a + 1;
  }
  return n;
}

/** Number of "processor : N" entries in /proc/cpuinfo (tabs or spaces before the colon). */
export function countCpuinfoProcessors(text: string): number {
  return text.split('\n').filter((l) => /^\s*processor\s*:\s*\d+\s*$/.test(l)).length;
}
