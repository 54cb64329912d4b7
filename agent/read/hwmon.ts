// hwmon devices under /sys/class/hwmon, found by their `name` attribute.
import path from 'node:path';
import { listDir, readText } from './kernel-files.js';

/** Directory of the raspberrypi-hwmon device (hwmon whose `name` is rpi_volt), if any. */
export async function findRpiVoltHwmon(hwmonClass: string): Promise<string | undefined> {
  for (const entry of (await listDir(hwmonClass)).filter((n) => /^hwmon\d+$/.test(n)).sort()) {
    const dir = path.join(hwmonClass, entry);
    if ((await readText(path.join(dir, 'name')).catch(() => undefined))?.trim() === 'rpi_volt') return dir;
  }
  return undefined;
}
