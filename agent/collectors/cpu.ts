// cpu: split of CPU time since the previous sample (iostat -c), from /proc/stat.
// Cost: one read of /proc/stat per cycle (iostat would spawn; systeminformation's
// currentLoad() reads the same file but also walks every CPU and keeps its own state).
// The first sample reports the split since boot, as iostat's first report does; from then
// on each sample covers the time since the previous one.
import { readKernelFile } from '../read/kernel-files.js';
import { SensorError } from '../../common/errors.js';
import { cpuSplit, parseProcStat, type CpuTimes } from '../parse/proc-stat.js';
import { NoDataError, type CollectorEntry } from './types.js';

export const collector: CollectorEntry<'cpu'> = {
  defaultEnabled: true,
  create: (ctx) => {
    let prev: CpuTimes | undefined;
    return {
      name: 'cpu',
      async collect() {
        const file = ctx.paths.proc('stat');
        let text: string;
        try {
          text = await readKernelFile(file);
        } catch (err) {
          throw new SensorError(`cpu: cannot read ${file}`, { cause: err });
        }
        const cur = parseProcStat(text).cpu;
        if (!cur) throw new SensorError(`cpu: no "cpu" line in ${file}`);
        const split = cpuSplit(cur, prev);
        if (!split) throw new NoDataError('cpu: no CPU time passed since the previous sample');
        prev = cur;
        return split;
      },
    };
  },
};
