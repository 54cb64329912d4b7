// partitions: one row per real filesystem (df -T -k), from /proc/self/mounts and statfs(2).
// Cost: one read of the mount table and one statfs per filesystem, no child process (df
// would spawn; systeminformation's fsSize() runs df). Which filesystems count, and why:
// selectRealFilesystems. Paths of mount points are taken under the configured root, so an
// agent in a container with the host's / mounted at rootDir sees the host's disks.
import { readFilesystems } from './shared/filesystems.js';
import { logOnce } from './shared/log-once.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

export const collector: CollectorEntry<'partitions'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    return {
      name: 'partitions',
      async collect(): Promise<Reading<'partitions'>> {
        const fss = await readFilesystems(ctx.paths, once);
        if (fss.length === 0) throw new NoDataError('partitions: no block-device filesystem is mounted');
        return {
          rows: fss.map((f) => {
            const row: NonNullable<Reading<'partitions'>['rows']>[number] = {
              device: f.source,
              fsType: f.fsType,
              totalKb: f.totalKb,
              usedKb: f.usedKb,
              freeKb: f.freeKb,
              mountPoint: f.mountPoint,
            };
            if (f.usagePercent !== undefined) row.usagePercent = f.usagePercent;
            return row;
          }),
        };
      },
    };
  },
};
