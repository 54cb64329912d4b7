// cpusNumber: CPUs present and online, from the kernel's CPU lists in sysfs.
// Cost: two tiny sysfs reads (nproc/lscpu would spawn; systeminformation's cpu() runs
// lscpu and reads /proc/cpuinfo at length). The total only changes with hardware, so it is
// cached for an hour; the online count follows hotplug and is read every cycle.
import { readFile } from 'node:fs/promises';
import { readKernelFile } from '../read/kernel-files.js';
import { SensorError } from '../../common/errors.js';
import { countCpuinfoProcessors, parseCpuList } from '../parse/cpu-list.js';
import { parseProcStat } from '../parse/proc-stat.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import type { CollectorEntry, Reading } from './types.js';

const TOTAL_TTL_MS = 60 * 60_000;

export const collector: CollectorEntry<'cpusNumber'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    const cpuFile = (name: string) => ctx.paths.sys('devices', 'system', 'cpu', name);

    /** CPUs present (lscpu's "CPU(s)"), else possible, else the processors of /proc/cpuinfo. */
    const total = cachedFor(TOTAL_TTL_MS, async (): Promise<number | undefined> => {
      for (const name of ['present', 'possible']) {
        try {
          const n = parseCpuList(await readFile(cpuFile(name), 'utf8'));
          if (n > 0) return n;
        } catch (err) {
          once.warn(`cpu/${name}`, err, 'cannot read the CPU list in sysfs; trying the next source');
        }
      }
      try {
        const n = countCpuinfoProcessors(await readFile(ctx.paths.proc('cpuinfo'), 'utf8'));
        if (n > 0) return n;
      } catch (err) {
        once.warn('cpuinfo', err, 'cannot read /proc/cpuinfo; cpusTotalNumber stays unset');
      }
      return undefined;
    });

    /** CPUs online: the sysfs list, else the cpuN lines of /proc/stat (only online CPUs have one). */
    async function online(): Promise<number | undefined> {
      try {
        const n = parseCpuList(await readKernelFile(cpuFile('online')));
        if (n > 0) return n;
      } catch (err) {
        once.warn('cpu/online', err, 'cannot read the online CPU list in sysfs; counting /proc/stat lines');
      }
      try {
        const n = parseProcStat(await readKernelFile(ctx.paths.proc('stat'))).cpuLines;
        if (n > 0) return n;
      } catch (err) {
        once.warn('stat', err, 'cannot read /proc/stat; cpusUsageNumber stays unset');
      }
      return undefined;
    }

    return {
      name: 'cpusNumber',
      async collect() {
        const [cpusTotal, cpusOnline] = await Promise.all([total.get(), online()]);
        if (cpusTotal === undefined && cpusOnline === undefined) throw new SensorError('cpusNumber: no readable CPU list in sysfs, /proc/cpuinfo or /proc/stat');
        if (cpusTotal === undefined) total.clear();
        const reading: Reading<'cpusNumber'> = {};
        if (cpusTotal !== undefined) reading.cpusTotal = cpusTotal;
        if (cpusOnline !== undefined) reading.cpusOnline = cpusOnline;
        return reading;
      },
    };
  },
};
