// CPU time and memory of processes from /proc/<pid>/stat and /proc/<pid>/status, and the
// servers the benchmarks start as separate processes (so each one's figures are its own).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Program } from '../testkit/processes.js';

let clockTicks: number | undefined;
/** USER_HZ (getconf CLK_TCK), usually 100. */
export function clkTck(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return clockTicks;
}

export interface ProcSample {
  pid: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
  /** cutime + cstime, seconds: the CPU of the children it has waited for (ps, df, ping spawned by it). */
  childCpuSeconds: number;
  rssKb: number;
  /** Peak resident set size (VmHWM) since the process started. */
  peakRssKb: number;
}

/** Parses /proc/<pid>/stat text: fields after the ")" that closes comm (which may hold spaces). */
export function parseStatCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** cutime + cstime (fields 16 and 17) of /proc/<pid>/stat text, in ticks. */
export function parseStatChildCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}

export function parseStatusKb(status: string, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { pid, cpuSeconds: parseStatCpuTicks(stat) / clkTck(), childCpuSeconds: parseStatChildCpuTicks(stat) / clkTck(), rssKb: parseStatusKb(status, 'VmRSS'), peakRssKb: parseStatusKb(status, 'VmHWM') };
  } catch {
    return undefined;
  }
}

/** Pids whose command line contains `needle` (e.g. the config path of an influxd). */
export function pidsByCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/** CPU seconds spent between two samples of the same process. */
export const cpuBetween = (a: ProcSample | undefined, b: ProcSample | undefined): number => (a && b ? b.cpuSeconds - a.cpuSeconds : NaN);
/** The same, with the CPU of the children it ended and waited for meanwhile. */
export const cpuWithChildrenBetween = (a: ProcSample | undefined, b: ProcSample | undefined): number => (a && b ? b.cpuSeconds + b.childCpuSeconds - a.cpuSeconds - a.childCpuSeconds : NaN);

/** Starts a program with its output appended to logFile (testkit's Program keeps its last lines for error messages). */
export async function startChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<Program> {
  const child = new Program({ name, cmd, args, logFile, env });
  await child.start();
  return child;
}
