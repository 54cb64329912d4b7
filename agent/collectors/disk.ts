// disk: totals over the filesystems the partitions group reports (df --total), named "total".
// Same reads as partitions (mount table + statfs), no child process.
import { dfTotal } from '../parse/mounts.js';
import { logOnce } from './shared/log-once.js';
import { readFilesystems } from './shared/filesystems.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

export const collector: CollectorEntry<'disk'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    return {
      name: 'disk',
      async collect(): Promise<Reading<'disk'>> {
        const fss = await readFilesystems(ctx.paths, once);
        if (fss.length === 0) throw new NoDataError('disk: no block-device filesystem is mounted');
        const t = dfTotal(fss);
        const reading: Reading<'disk'> = { name: 'total', totalKb: t.totalKb, usedKb: t.usedKb, freeKb: t.freeKb };
        if (t.usagePercent !== undefined) reading.usagePercent = t.usagePercent;
        return reading;
      },
    };
  },
};
