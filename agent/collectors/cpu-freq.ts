// cpuFreq: one row per cpufreq policy, /sys/devices/system/cpu/cpufreq/policy<N>/
// scaling_{cur,min,max}_freq in kHz (cpuinfo_cur_freq is root-only). On a Pi the current
// value is what the kernel requested: the firmware may cap it (raspberrypi/linux#2986), which
// piHealth's frequency-capped and throttled flags tell. The policy list is read again every
// 5 minutes; a machine without cpufreq (many VMs): NoDataError. No child process. The kernel
// answers these from memory (or one firmware call for the current clock on a Pi), so they are
// read synchronously (read/kernel-files.ts says why that is cheaper).
import { errText } from '../../common/errors.js';
import { parseSysInt } from '../parse/sysfs.js';
import { listDir, readKernelText } from '../read/kernel-files.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

const RESCAN_MS = 5 * 60_000;
const ATTRS = [
  ['curKhz', 'scaling_cur_freq'],
  ['minKhz', 'scaling_min_freq'],
  ['maxKhz', 'scaling_max_freq'],
] as const;

export const collector: CollectorEntry<'cpuFreq'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    const dir = ctx.paths.sys('devices', 'system', 'cpu', 'cpufreq');
    const policies = cachedFor(RESCAN_MS, async () => (await listDir(dir)).filter((n) => /^policy\d+$/.test(n)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6))));

    async function khz(policy: string, attr: string): Promise<number | undefined> {
      const file = ctx.paths.sys('devices', 'system', 'cpu', 'cpufreq', policy, attr);
      try {
        const text = await readKernelText(file);
        if (text === undefined) {
          once.log(`${file}:missing`, 'debug', { file }, 'cpufreq value not available, left unset');
          return undefined;
        }
        const n = parseSysInt(text);
        if (n === undefined || n < 0) {
          once.log(`${file}:malformed`, 'warn', { file, text: text.slice(0, 40) }, 'cpufreq value malformed, left unset');
          return undefined;
        }
        once.clear(`${file}:malformed`);
        return n;
      } catch (err) {
        once.log(`${file}:error`, 'warn', { file, reason: errText(err) }, 'cpufreq value unreadable, left unset');
        return undefined;
      }
    }

    return {
      name: 'cpuFreq',
      async collect(): Promise<Reading<'cpuFreq'>> {
        const list = await policies.get();
        if (!list.length) {
          once.log('no-cpufreq', 'debug', { dir }, 'no cpufreq policy: no cpuFreq group');
          throw new NoDataError('no cpufreq policy on this machine');
        }
        const rows = await Promise.all(
          list.map(async (policy) => {
            const row: NonNullable<Reading<'cpuFreq'>['rows']>[number] = { policy };
            const values = await Promise.all(ATTRS.map(([, attr]) => khz(policy, attr)));
            ATTRS.forEach(([key], i) => {
              if (values[i] !== undefined) row[key] = values[i];
            });
            return row;
          }),
        );
        return { rows };
      },
    };
  },
};
