// piHealth: Raspberry Pi throttling and under-voltage from sysfs only (never vcgencmd),
// plus board model and ARM clock. Files (under rootDir):
//   /sys/devices/platform/soc/soc:firmware/get_throttled   bits 0-3 now, 16-19 since boot
//   /sys/class/hwmon/hwmon*/{name=rpi_volt, in0_lcrit_alarm}
//   /proc/device-tree/model                                 "Raspberry Pi 4 Model B Rev 1.4\0"
//   /sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq  kHz
//   /proc/device-tree/serial-number, /proc/cpuinfo          serial, revision (read once)
// A machine without get_throttled, rpi_volt and a "Raspberry Pi" model is not a Pi: NoDataError,
// logged once at debug. No child process.
import { errText } from '../../common/errors.js';
import { parseSysInt } from '../parse/sysfs.js';
import { readText } from '../read/kernel-files.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { GET_THROTTLED, parseCpuinfoBoard, parseDeviceTreeModel, parseDeviceTreeString, parseThrottled } from '../parse/pi.js';
import { findRpiVoltHwmon } from '../read/hwmon.js';
import path from 'node:path';
import { NoDataError, type Collector, type CollectorContext, type CollectorEntry, type Reading } from './types.js';

/** The hwmon directory is looked up again this often when it was not found (drivers load late). */
const HWMON_RESCAN_MS = 5 * 60_000;

export function createPiHealth(ctx: CollectorContext): Collector<'piHealth'> {
  const { paths, log } = ctx;
  const once = logOnce(log);
  const throttledFile = paths.sys(...GET_THROTTLED);
  const clockFile = paths.sys('devices', 'system', 'cpu', 'cpu0', 'cpufreq', 'scaling_cur_freq');
  let model: { value: string | undefined } | undefined; // read once: the board does not change
  let board: { serial?: string; revision?: string } | undefined;
  // Once found it stays; while missing it is looked for again every HWMON_RESCAN_MS.
  const hwmonDir = cachedFor((dir: string | undefined) => (dir ? Infinity : HWMON_RESCAN_MS), () => findRpiVoltHwmon(paths.sys('class', 'hwmon')).catch(() => undefined));

  /** Reads an optional value; a missing file is silent (debug once), other errors are logged once. */
  async function optional<T>(key: string, file: string, parse: (text: string) => T | undefined): Promise<T | undefined> {
    try {
      const text = await readText(file);
      if (text === undefined) {
        once.log(`${key}:missing`, 'debug', { file }, 'Pi health value not available on this board');
        return undefined;
      }
      const value = parse(text);
      if (value === undefined) {
        once.log(`${key}:malformed`, 'warn', { file, text: text.slice(0, 40) }, 'Pi health value malformed, left unset');
        return undefined;
      }
      once.clear(`${key}:malformed`);
      once.clear(`${key}:error`);
      return value;
    } catch (err) {
      once.log(`${key}:error`, 'warn', { file, reason: errText(err) }, 'Pi health value unreadable, left unset');
      return undefined;
    }
  }

  return {
    name: 'piHealth',
    async collect() {
      model ??= { value: await optional('model', paths.proc('device-tree', 'model'), parseDeviceTreeModel) };
      if (!board) {
        const cpuinfo = (await optional('cpuinfo', paths.proc('cpuinfo'), parseCpuinfoBoard)) ?? {};
        const dtSerial = await optional('serial', paths.proc('device-tree', 'serial-number'), parseDeviceTreeString);
        board = { serial: dtSerial ?? cpuinfo.serial, revision: cpuinfo.revision };
      }
      const hwmon = await hwmonDir.get();
      const [throttled, lcrit, clock] = await Promise.all([
        optional('throttled', throttledFile, parseThrottled),
        hwmon ? optional('hwmon', path.join(hwmon, 'in0_lcrit_alarm'), parseSysInt) : undefined,
        optional('clock', clockFile, parseSysInt),
      ]);
      const isPi = throttled !== undefined || hwmon !== undefined || /^Raspberry Pi/.test(model.value ?? '');
      if (!isPi) {
        once.log('not-a-pi', 'debug', { throttledFile }, 'not a Raspberry Pi: no piHealth');
        throw new NoDataError('not a Raspberry Pi (no get_throttled, no rpi_volt hwmon, no Raspberry Pi model)');
      }
      const reading: Reading<'piHealth'> = { ...throttled };
      if (lcrit !== undefined) reading.hwmonLcritAlarm = lcrit;
      if (model.value !== undefined) reading.model = model.value;
      if (clock !== undefined) reading.armClockKhz = clock;
      if (board.serial !== undefined) reading.serial = board.serial;
      if (board.revision !== undefined) reading.revision = board.revision;
      return reading;
    },
  };
}

export const collector: CollectorEntry<'piHealth'> = {
  defaultEnabled: true,
  create: createPiHealth,
};
