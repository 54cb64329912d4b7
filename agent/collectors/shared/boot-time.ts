// The boot time from /proc/stat's btime, read by the systemAdditionalInfo and process groups.
// Cached but not forever: a Pi has no real-time clock, and when NTP sets the clock after
// boot the kernel's btime moves with it.
import { readFile } from 'node:fs/promises';
import { SensorError } from '../../../common/errors.js';
import { parseProcStat } from '../../parse/proc-stat.js';
import type { Paths } from '../../read/paths.js';

export const BOOT_TIME_TTL_MS = 10 * 60_000;

/** Boot time (ms since the epoch) from /proc/stat's btime. */
export async function readBootTimeMs(paths: Paths): Promise<number> {
  const file = paths.proc('stat');
  const btime = parseProcStat(await readFile(file, 'utf8')).btime;
  if (btime === undefined) throw new SensorError(`no btime line in ${file}`);
  return btime * 1000;
}
