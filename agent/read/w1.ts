// 1-Wire temperature sensors (w1_therm driver): /sys/bus/w1/devices/<family>-<serial>/w1_slave
// (two lines: "... : crc=e1 YES" and "... t=20687") or .../temperature (millidegrees).
// Reading either makes the sensor convert (up to 750 ms each), so sensors are read one
// after another, never in parallel: the kernel serialises the bus anyway.
import path from 'node:path';
import { parseW1Slave, parseW1Temperature, W1_THERM_FAMILIES, type W1Result } from '../parse/w1.js';
import { listDir, readText } from './kernel-files.js';

export interface W1Reading {
  /** Device id, e.g. 28-000006c5aefc. */
  sensor: string;
  result: W1Result;
}

/** Device directories of temperature sensors under <w1Devices> (sorted). */
export async function listW1Sensors(w1Devices: string): Promise<string[]> {
  const names = await listDir(w1Devices);
  return names.filter((n) => W1_THERM_FAMILIES.some((f) => n.toLowerCase().startsWith(`${f}-`))).sort();
}

/** Reads one sensor: w1_slave when present (shows the CRC), else `temperature`; undefined when neither exists. */
export async function readW1Sensor(w1Devices: string, sensor: string): Promise<W1Result | undefined> {
  const dir = path.join(w1Devices, sensor);
  const slave = await readText(path.join(dir, 'w1_slave'));
  if (slave !== undefined) return parseW1Slave(slave);
  const temperature = await readText(path.join(dir, 'temperature'));
  if (temperature !== undefined) return parseW1Temperature(temperature);
  return undefined;
}
