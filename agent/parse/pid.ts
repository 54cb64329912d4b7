// /proc/<pid>/{stat,status,cmdline}, /etc/passwd and /etc/group -> the columns of
// `ps -e -o pcpu,pmem,pid,nice,egroup,euser,stat,lstart,time,args`.
import { SensorError } from '../../common/errors.js';

/** USER_HZ: the unit of every time in /proc/<pid>/stat; 100 on every Linux architecture. */
export const CLK_TCK = 100;

export interface PidStat {
  pid: number;
  comm: string;
  state: string;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /**
   * Nice value; undefined for real-time and idle scheduling policies, where ps prints "-"
   * (it shows nice only for SCHED_OTHER and SCHED_BATCH).
   */
  nice?: number;
  /** Start time after boot, in clock ticks. */
  startTicks: number;
}

/**
 * One /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself
 * hold spaces and parentheses, so the fields after it are found from the LAST ')'.
 */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new SensorError(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 60))}`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const num = (field: number) => Number(rest[field - 3]);
  const st: PidStat = {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '',
    cpuTicks: num(14) + num(15),
    startTicks: num(22),
  };
  if (!Number.isInteger(st.pid) || !/^[A-Za-z]$/.test(st.state) || ![st.cpuTicks, num(19), st.startTicks].every(Number.isFinite)) {
    throw new SensorError(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 60))}`);
  }
  // Field 41, scheduling policy (Linux 2.5.19+): 0 SCHED_OTHER, 3 SCHED_BATCH.
  const policy = rest.length >= 41 - 2 ? num(41) : 0;
  if (policy === 0 || policy === 3) st.nice = num(19);
  return st;
}

export interface PidStatus {
  /** Effective user and group ids (second column of Uid:/Gid:), as ps's euser/egroup. */
  euid?: number;
  egid?: number;
  /** Resident set size in kB; absent for kernel threads. */
  rssKb?: number;
}

export function parsePidStatus(text: string): PidStatus {
  const out: PidStatus = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('Uid:')) out.euid = Number(line.slice(4).trim().split(/\s+/)[1]);
    else if (line.startsWith('Gid:')) out.egid = Number(line.slice(4).trim().split(/\s+/)[1]);
    else if (line.startsWith('VmRSS:')) out.rssKb = Number(line.slice(6).trim().split(/\s+/)[0]);
  }
  for (const k of ['euid', 'egid', 'rssKb'] as const) if (out[k] !== undefined && !Number.isFinite(out[k])) delete out[k];
  return out;
}

/**
 * ps's args column: the NUL-separated argv joined by spaces; a process without one (kernel
 * threads, zombies) shows its name in brackets, a zombie followed by " <defunct>".
 */
export function commandLine(cmdline: string, comm: string, state = ''): string {
  const args = cmdline.replace(/\0+$/, '').replace(/\0/g, ' ').trim();
  if (args !== '') return args;
  return state === 'Z' ? `[${comm}] <defunct>` : `[${comm}]`;
}

/** ps's time format for cumulative CPU time: "HH:MM:SS", with "D-" in front from one day on. */
export function formatCpuTime(ticks: number): string {
  const total = Math.floor(ticks / CLK_TCK);
  const days = Math.floor(total / 86400);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

/** /etc/passwd or /etc/group -> id -> name (first entry wins, as getpwuid returns it). */
export function parseIdNames(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !f[0]) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && !out.has(id)) out.set(id, f[0]);
  }
  return out;
}
