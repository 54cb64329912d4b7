// processesNumber: processes in total and running/runnable (state R), from /proc/<pid>/stat.
// Cost: a readdir of /proc and one small read per process (ps would spawn, and so does
// systeminformation's processes()). /proc/loadavg's "1/211" counts threads, not processes,
// so it is not used. The same scan feeds the process group.
import { SensorError } from '../../common/errors.js';
import { sharedPidStats } from './shared/pids.js';
import type { CollectorEntry } from './types.js';

export const collector: CollectorEntry<'processesNumber'> = {
  defaultEnabled: true,
  create: (ctx) => ({
    name: 'processesNumber',
    async collect() {
      const stats = await sharedPidStats(ctx.paths);
      if (stats.length === 0) throw new SensorError(`processesNumber: no readable /proc/<pid>/stat under ${ctx.paths.proc()}`);
      return { total: stats.length, active: stats.filter((s) => s.state === 'R').length };
    },
  }),
};
