// CPU time and memory of processes from /proc/<pid>/stat and /proc/<pid>/status, and the
// servers the benchmarks start as separate processes (so each one's figures are its own).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';

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

export function parseStatusKb(status: string, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { pid, cpuSeconds: parseStatCpuTicks(stat) / clkTck(), rssKb: parseStatusKb(status, 'VmRSS'), peakRssKb: parseStatusKb(status, 'VmHWM') };
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

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Last lines of its output, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** Starts a program with its output in logFile (and the last 4 KB kept for errors). */
export function startChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const log = createWriteStream(logFile);
  let tail = '';
  const keep = (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-4000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return {
    name,
    proc,
    pid: proc.pid!,
    tail: () => tail,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(t);
          log.end();
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
