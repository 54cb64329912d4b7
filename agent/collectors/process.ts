// process: the top N processes by CPU use since the previous sample (ps -e -o pcpu,pmem,
// pid,nice,egroup,euser,stat,lstart,time,args --sort=-pcpu | head -N), from /proc.
// Cost: the /proc/<pid>/stat scan of processesNumber, then status and cmdline of the N
// ranked processes only; /etc/passwd and /etc/group are read again only when an unknown id
// shows up (at most once a minute); MemTotal and the boot time are cached. No child process
// (ps would spawn, and so does systeminformation's processes()).
// CPU use: ticks used since the previous sample over the time passed (per-core percent like
// top and ps: a process busy on two cores shows 200). A process not seen in the previous
// sample (and every process on the first sample) gets ps's figure instead: its CPU time
// over its lifetime. N rows are always sent (fewer only when fewer processes exist), like
// `head -N`, ranked by CPU use, then by total CPU time, then by pid.
import { readFile } from 'node:fs/promises';
import { readKernelFile } from '../read/kernel-files.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { formatLocalDateTime, parseUptime } from '../parse/loadavg.js';
import { CLK_TCK, commandLine, formatCpuTime, parseIdNames, parsePidStatus, type PidStat } from '../parse/pid.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { SensorError } from '../../common/errors.js';
import type { Paths } from '../read/paths.js';
import { sharedPidStats } from './shared/pids.js';
import { BOOT_TIME_TTL_MS, readBootTimeMs } from './shared/boot-time.js';
import type { CollectorEntry, Reading } from './types.js';

const MEM_TOTAL_TTL_MS = 60 * 60_000;
/** Ids unknown to /etc/passwd or /etc/group send us back to the files at most this often. */
const ID_RELOAD_MS = 60_000;

type Row = NonNullable<Reading<'process'>['rows']>[number];

/** id -> name from /etc/passwd or /etc/group, reloaded when an unknown id appears. */
function idResolver(file: string, onError: (err: unknown) => void) {
  let names = new Map<number, string>();
  let loadedAt = -Infinity;
  let loading: Promise<void> | undefined;
  const load = async () => {
    try {
      names = parseIdNames(await readFile(file, 'utf8'));
    } catch (err) {
      onError(err);
    }
  };
  return async (id: number | undefined): Promise<string | undefined> => {
    if (id === undefined) return undefined;
    if (!names.has(id) && Date.now() - loadedAt >= ID_RELOAD_MS) {
      loadedAt = Date.now();
      loading = load();
    }
    // Lookups that come while the file is being read wait for it.
    await loading;
    // ps prints the number when the id has no name.
    return names.get(id) ?? String(id);
  };
}

async function readMemTotalKb(paths: Paths): Promise<number> {
  const v = parseMeminfo(await readKernelFile(paths.proc('meminfo'))).get('MemTotal');
  if (v === undefined || v <= 0) throw new SensorError(`no MemTotal line in ${paths.proc('meminfo')}`);
  return v;
}

export const collector: CollectorEntry<'process'> = {
  defaultEnabled: true,
  create: (ctx) => {
    const once = logOnce(ctx.log);
    const top = ctx.config.metrics.process.top;
    const boot = cachedFor(BOOT_TIME_TTL_MS, () => readBootTimeMs(ctx.paths));
    const memTotal = cachedFor(MEM_TOTAL_TTL_MS, () => readMemTotalKb(ctx.paths));
    const userName = idResolver(ctx.paths.root('etc', 'passwd'), (err) => once.warn('passwd', err, 'cannot read /etc/passwd; users show as numbers'));
    const groupName = idResolver(ctx.paths.root('etc', 'group'), (err) => once.warn('group', err, 'cannot read /etc/group; groups show as numbers'));
    let prev: { uptime: number; seen: Map<number, PidStat> } | undefined;

    async function settled<T>(key: string, p: Promise<T>, msg: string): Promise<T | undefined> {
      try {
        const v = await p;
        once.ok(key);
        return v;
      } catch (err) {
        once.warn(key, err, msg);
        return undefined;
      }
    }

    /** One row, or undefined when the process ended before its files could be read. */
    async function row(s: PidStat, cpuPercent: number, bootMs: number | undefined, memKb: number | undefined): Promise<Row | undefined> {
      let statusText: string;
      try {
        statusText = await readKernelFile(ctx.paths.proc(String(s.pid), 'status'));
      } catch {
        return undefined;
      }
      let cmdline = '';
      try {
        // Through the thread pool: reading cmdline takes the process's mmap lock, which a
        // process stuck in a page fault (a hung network filesystem) can hold for long.
        cmdline = await readFile(ctx.paths.proc(String(s.pid), 'cmdline'), 'utf8');
      } catch {
        // gone, or not readable: ps shows the name in brackets then
      }
      const st = parsePidStatus(statusText);
      const r: Row = {
        cpuPercent,
        pid: s.pid,
        state: s.state,
        cpuTime: formatCpuTime(s.cpuTicks),
        command: commandLine(cmdline, s.comm, s.state),
      };
      if (s.nice !== undefined) r.nice = s.nice;
      if (memKb !== undefined) r.memPercent = ((st.rssKb ?? 0) * 100) / memKb;
      const [user, group] = await Promise.all([userName(st.euid), groupName(st.egid)]);
      if (user !== undefined) r.user = user;
      if (group !== undefined) r.group = group;
      if (bootMs !== undefined) r.start = formatLocalDateTime(new Date(bootMs + (s.startTicks / CLK_TCK) * 1000));
      return r;
    }

    return {
      name: 'process',
      async collect(): Promise<Reading<'process'>> {
        const [stats, uptimeText, bootMs, memKb] = await Promise.all([
          sharedPidStats(ctx.paths),
          readKernelFile(ctx.paths.proc('uptime')).catch((err: unknown) => {
            throw new SensorError(`process: cannot read ${ctx.paths.proc('uptime')}`, { cause: err });
          }),
          settled('btime', boot.get(), 'cannot read the boot time; process start times stay unset'),
          settled('MemTotal', memTotal.get(), 'cannot read MemTotal; memory percentages stay unset'),
        ]);
        const uptime = parseUptime(uptimeText);
        const dt = prev ? uptime - prev.uptime : 0;
        const ranked = stats
          .map((s) => {
            const before = prev?.seen.get(s.pid);
            let pct: number;
            if (before && before.startTicks === s.startTicks && dt > 0) {
              pct = (Math.max(0, s.cpuTicks - before.cpuTicks) / CLK_TCK / dt) * 100;
            } else {
              const life = uptime - s.startTicks / CLK_TCK;
              pct = life > 0 ? (s.cpuTicks / CLK_TCK / life) * 100 : 0;
            }
            return { s, pct };
          })
          .sort((a, b) => b.pct - a.pct || b.s.cpuTicks - a.s.cpuTicks || a.s.pid - b.s.pid);
        prev = { uptime, seen: new Map(stats.map((s) => [s.pid, s])) };

        const rows: Row[] = [];
        // Read in small batches until N rows stand: a ranked process may end meanwhile.
        let next = 0;
        while (next < ranked.length && rows.length < top) {
          const batch = ranked.slice(next, next + top - rows.length);
          next += batch.length;
          const got = await Promise.all(batch.map(({ s, pct }) => row(s, pct, bootMs, memKb)));
          rows.push(...got.filter((r): r is Row => r !== undefined));
        }
        if (rows.length === 0) throw new SensorError(`process: no readable process under ${ctx.paths.proc()}`);
        return { rows };
      },
    };
  },
};
