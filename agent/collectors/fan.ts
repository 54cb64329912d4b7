// fan: one row per hwmon fan, /sys/class/hwmon/hwmon*/fan<N>_input (RPM) with its pwm<N>
// (duty 0-255, given as a percentage): the Pi 5 Active Cooler (hwmon "pwmfan", under
// /sys/devices/platform/cooling_fan; its hwmon number is not fixed) or any other fan. Both are
// reported because the Pi 5 tachometer is unreliable at mid PWM (raspberrypi/linux#7556). Which
// fans exist is looked up again every 5 minutes (drivers load late); a machine without any:
// NoDataError. Reads are asynchronous: some fan controllers sit on I2C. No child process.
import path from 'node:path';
import { errText } from '../../common/errors.js';
import { parseSysInt } from '../parse/sysfs.js';
import { listDir, readText } from '../read/kernel-files.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { NoDataError, type CollectorEntry, type Reading } from './types.js';

const RESCAN_MS = 5 * 60_000;

interface FanFiles {
  readonly fan: string;
  readonly input: string;
  readonly pwm?: string;
}

const byNumber = (a: string, b: string) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));

export async function findFans(hwmonClass: string): Promise<FanFiles[]> {
  const out: FanFiles[] = [];
  for (const entry of (await listDir(hwmonClass)).filter((n) => /^hwmon\d+$/.test(n)).sort(byNumber)) {
    const dir = path.join(hwmonClass, entry);
    const files = await listDir(dir);
    const inputs = files.filter((f) => /^fan\d+_input$/.test(f)).sort(byNumber);
    if (!inputs.length) continue;
    const name = (await readText(path.join(dir, 'name')).catch(() => undefined))?.trim() || entry;
    for (const input of inputs) {
      const n = /^fan(\d+)_input$/.exec(input)![1]!;
      out.push({ fan: `${name}/fan${n}`, input: path.join(dir, input), pwm: files.includes(`pwm${n}`) ? path.join(dir, `pwm${n}`) : undefined });
    }
  }
  return out;
}

export const collector: CollectorEntry<'fan'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    const fans = cachedFor(RESCAN_MS, () => findFans(ctx.paths.sys('class', 'hwmon')));

    async function value(file: string, what: string): Promise<number | undefined> {
      try {
        const text = await readText(file);
        if (text === undefined) return undefined;
        const n = parseSysInt(text);
        if (n === undefined) {
          once.log(`${file}:malformed`, 'warn', { file, text: text.slice(0, 40) }, `fan ${what} malformed, left unset`);
          return undefined;
        }
        once.clear(`${file}:malformed`);
        once.ok(file);
        return n;
      } catch (err) {
        once.log(file, 'warn', { file, reason: errText(err) }, `fan ${what} unreadable, left unset`);
        return undefined;
      }
    }

    return {
      name: 'fan',
      async collect(): Promise<Reading<'fan'>> {
        const list = await fans.get();
        if (!list.length) {
          once.log('no-fan', 'debug', {}, 'no hwmon fan: no fan group');
          throw new NoDataError('no hwmon fan on this machine');
        }
        const rows = await Promise.all(
          list.map(async (f) => {
            const [rpm, pwm] = await Promise.all([value(f.input, 'speed'), f.pwm ? value(f.pwm, 'pwm') : undefined]);
            const row: NonNullable<Reading<'fan'>['rows']>[number] = { fan: f.fan };
            if (rpm !== undefined && rpm >= 0) row.rpm = rpm;
            if (pwm !== undefined && pwm >= 0 && pwm <= 255) row.pwmPercent = Math.round((pwm / 255) * 1000) / 10;
            return row;
          }),
        );
        return { rows };
      },
    };
  },
};
