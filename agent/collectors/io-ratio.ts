// ioRatio: one row per whole disk (iostat -d -k), from /proc/diskstats and /proc/uptime.
// Cost: two small reads per cycle plus a readdir of /sys/block once a minute (iostat would
// spawn; systeminformation's disksIO() sums all devices into one figure and its
// blockDevices() runs lsblk). Rates cover the time since the previous sample, measured
// with /proc/uptime as iostat does; the first sample gives rates since boot, as iostat's
// first report. Which devices count, and why: isWholeDisk. Bytes written per interval and since
// boot are fields of their own: SD cards die of writes.
import { readdir } from 'node:fs/promises';
import { readKernelFile } from '../read/kernel-files.js';
import { SensorError } from '../../common/errors.js';
import { everUsed, ioRow, isWholeDisk, parseDiskstats, type DiskStat } from '../parse/diskstats.js';
import { parseUptime } from '../parse/loadavg.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

/** Disks come and go (USB); the list of /sys/block is read again after this long. */
const SYS_BLOCK_TTL_MS = 60_000;

export const collector: CollectorEntry<'ioRatio'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    let prev: { uptime: number; disks: Map<string, DiskStat> } | undefined;
    const sysBlock = cachedFor(SYS_BLOCK_TTL_MS, async (): Promise<Set<string> | undefined> => {
      try {
        const names = new Set(await readdir(ctx.paths.sys('block')));
        once.ok('sys/block');
        return names;
      } catch (err) {
        once.warn('sys/block', err, 'cannot list /sys/block; whole disks are told from partitions by their names');
        return undefined;
      }
    });

    async function read(file: string): Promise<string> {
      try {
        return await readKernelFile(file);
      } catch (err) {
        throw new SensorError(`ioRatio: cannot read ${file}`, { cause: err });
      }
    }

    return {
      name: 'ioRatio',
      async collect(): Promise<Reading<'ioRatio'>> {
        const [stats, uptimeText, block] = await Promise.all([read(ctx.paths.proc('diskstats')), read(ctx.paths.proc('uptime')), sysBlock.get()]);
        const uptime = parseUptime(uptimeText);
        const disks = parseDiskstats(stats).filter((d) => isWholeDisk(d.name, block));
        const seconds = prev ? uptime - prev.uptime : uptime;
        const rows = disks.filter(everUsed).map((d) => {
          const r = ioRow(d, prev?.disks.get(d.name), seconds);
          // A disk that appeared since the previous sample: its counters start at its
          // attachment, not at boot, so no rate can be given yet.
          if (prev && !prev.disks.has(d.name)) {
            delete r.transfersPerSecond;
            delete r.readKbPerSecond;
            delete r.writtenKbPerSecond;
            delete r.writtenBytes;
          }
          return r;
        });
        prev = { uptime, disks: new Map(disks.map((d) => [d.name, d])) };
        if (rows.length === 0) throw new NoDataError('ioRatio: no block device has done any I/O');
        return { rows };
      },
    };
  },
};
