// /proc/loadavg and /proc/uptime.
import { SensorError } from '../../common/errors.js';

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
}

/** "0.74 2.50 4.16 1/211 4821" -> the three load averages. */
export function parseLoadavg(text: string): LoadAvg {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((v) => v !== undefined && Number.isFinite(v) && v >= 0)) {
    throw new SensorError(`not a /proc/loadavg line: ${JSON.stringify(text.slice(0, 60))}`);
  }
  return { load1: a!, load5: b!, load15: c! };
}

/** "1086.82 2059.12" -> seconds since boot. */
export function parseUptime(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v) || v < 0) throw new SensorError(`not a /proc/uptime line: ${JSON.stringify(text.slice(0, 60))}`);
  return v;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "YYYY-MM-DD HH:MM:SS" in local time, as `uptime -s` and ps's lstart print it. */
export function formatLocalDateTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
