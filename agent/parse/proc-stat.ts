// /proc/stat: the aggregate "cpu" line (split of CPU time, in USER_HZ ticks) and btime.

/** Columns of the "cpu" line, in the kernel's order (fs/proc/stat.c). Older kernels print fewer. */
const CPU_COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const;
export type CpuTimes = Record<(typeof CPU_COLUMNS)[number], number>;

export interface ProcStat {
  /** Aggregate over all CPUs; absent when the line is missing or malformed. */
  cpu?: CpuTimes;
  /** Number of cpuN lines (CPUs online). */
  cpuLines: number;
  /** Boot time, seconds since the epoch. */
  btime?: number;
}

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { cpuLines: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const nums = line.trim().split(/\s+/).slice(1).map(Number);
      if (nums.length >= 4 && nums.every(Number.isFinite)) {
        const t = {} as CpuTimes;
        CPU_COLUMNS.forEach((c, i) => (t[c] = nums[i] ?? 0));
        out.cpu = t;
      }
    } else if (/^cpu\d+\s/.test(line)) {
      out.cpuLines++;
    } else if (line.startsWith('btime ')) {
      const v = Number(line.slice(6).trim());
      if (Number.isFinite(v) && v > 0) out.btime = v;
    }
  }
  return out;
}

export interface CpuSplit {
  userPercent: number;
  nicePercent: number;
  systemPercent: number;
  iowaitPercent: number;
  stealPercent: number;
  idlePercent: number;
}

/**
 * The avg-cpu line of `iostat -c` between two samples (prev absent: since boot, as iostat's
 * first report). Like sysstat: guest time is already inside user/nice and is taken out of
 * them, %system includes hard and soft interrupts. Each counter's delta is clamped at 0
 * (iowait can step back on some kernels). Returns undefined when no tick passed.
 */
export function cpuSplit(cur: CpuTimes, prev?: CpuTimes): CpuSplit | undefined {
  const d = (k: keyof CpuTimes) => Math.max(0, cur[k] - (prev?.[k] ?? 0));
  const user = Math.max(0, d('user') - d('guest'));
  const nice = Math.max(0, d('nice') - d('guestNice'));
  const system = d('system') + d('irq') + d('softirq');
  const iowait = d('iowait');
  const steal = d('steal');
  const idle = d('idle');
  const total = user + nice + system + iowait + steal + idle;
  if (total <= 0) return undefined;
  const pct = (v: number) => (v / total) * 100;
  return {
    userPercent: pct(user),
    nicePercent: pct(nice),
    systemPercent: pct(system),
    iowaitPercent: pct(iowait),
    stealPercent: pct(steal),
    idlePercent: pct(idle),
  };
}
