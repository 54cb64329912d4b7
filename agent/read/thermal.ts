// SoC thermal zones: /sys/class/thermal/thermal_zone<N>/{temp (millidegrees), type}.
import path from 'node:path';
import { parseSysInt } from '../parse/sysfs.js';
import { listDir, readText } from './kernel-files.js';
import { SensorError } from '../../common/errors.js';

export interface ThermalZone {
  /** thermal_zone0 */
  zone: string;
  /** cpu-thermal, when the zone has a readable type. */
  type?: string;
}

/** Sensor id of a zone: "thermal_zone0:cpu-thermal" (or the zone alone when it has no type). */
export const thermalSensorId = (z: ThermalZone): string => (z.type ? `${z.zone}:${z.type}` : z.zone);

/** Zones under <thermalClass>, numerically sorted, with their types (types do not change: callers cache this). */
export async function listThermalZones(thermalClass: string): Promise<ThermalZone[]> {
  const zones = (await listDir(thermalClass))
    .filter((n) => /^thermal_zone\d+$/.test(n))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  return Promise.all(
    zones.map(async (zone) => {
      const type = (await readText(path.join(thermalClass, zone, 'type')).catch(() => undefined))?.trim();
      return type ? { zone, type } : { zone };
    }),
  );
}

/** °C of one zone; throws when `temp` is missing, unreadable (EINVAL/ENODATA on a disabled zone) or not an integer. */
export async function readThermalZone(thermalClass: string, zone: string): Promise<number> {
  const file = path.join(thermalClass, zone, 'temp');
  const text = await readText(file);
  if (text === undefined) throw new SensorError(`${file} does not exist`);
  const milli = parseSysInt(text);
  if (milli === undefined) throw new SensorError(`${file} is not an integer: ${JSON.stringify(text.trim().slice(0, 40))}`);
  return milli / 1000;
}
