// partitions: one row per real filesystem (df -T -k), from /proc/self/mounts and statfs(2).
// Cost: one read of the mount table and one statfs per filesystem, no child process (df
// would spawn; systeminformation's fsSize() runs df). Which filesystems count, and why:
// selectRealFilesystems. Paths of mount points are taken under the configured root, so an
// agent in a container with the host's / mounted at rootDir sees the host's disks.
// Trouble on a dying SD card: a read-only mount (the kernel remounts ext4 `ro` after I/O
// errors) and ext4's own error count (/sys/fs/ext4/<device>/errors_count, world-readable;
// dmesg would need privileges).
import path from 'node:path';
import { parseSysInt } from '../parse/sysfs.js';
import { readKernelText } from '../read/kernel-files.js';
import { readFilesystems } from './shared/filesystems.js';
import { logOnce } from './shared/log-once.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

export const collector: CollectorEntry<'partitions'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    async function ext4Errors(source: string): Promise<number | undefined> {
      const file = ctx.paths.sys('fs', 'ext4', path.basename(source), 'errors_count');
      try {
        const text = await readKernelText(file);
        if (text === undefined) return undefined;
        const n = parseSysInt(text);
        if (n === undefined) once.log(`${file}:malformed`, 'warn', { file, text: text.slice(0, 40) }, 'ext4 errors_count malformed, left unset');
        return n;
      } catch (err) {
        once.warn(file, err, 'cannot read ext4 errors_count; left unset');
        return undefined;
      }
    }
    return {
      name: 'partitions',
      async collect(): Promise<Reading<'partitions'>> {
        const fss = await readFilesystems(ctx.paths, once);
        if (fss.length === 0) throw new NoDataError('partitions: no block-device filesystem is mounted');
        const errors = await Promise.all(fss.map((f) => (f.fsType === 'ext4' ? ext4Errors(f.source) : undefined)));
        return {
          rows: fss.map((f, i) => {
            const row: NonNullable<Reading<'partitions'>['rows']>[number] = {
              device: f.source,
              fsType: f.fsType,
              totalKb: f.totalKb,
              usedKb: f.usedKb,
              freeKb: f.freeKb,
              mountPoint: f.mountPoint,
              readOnly: f.readOnly ? 1 : 0,
            };
            if (errors[i] !== undefined) row.fsErrors = errors[i];
            if (f.usagePercent !== undefined) row.usagePercent = f.usagePercent;
            return row;
          }),
        };
      },
    };
  },
};
