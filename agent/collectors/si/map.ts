// systeminformation results -> the readings of the procfs collectors: the same messages and
// InfluxDB fields, so a Mac's or a Windows PC's rows look like a Pi's. Pure functions of the
// results and the platform, tested on recorded results (test/fixtures/si/). A field
// systeminformation does not give on a platform, or gives only as a placeholder (a 0 it never
// measured), is left unset and named in `unset`, which the collector logs once; nothing is
// invented. Which field each OS gets: README "Other systems: macOS and Windows".
import type { Systeminformation as Si } from 'systeminformation';
import { formatLocalDateTime } from '../../parse/loadavg.js';
import { dfTotal, selectRealFilesystems, type DfRow } from '../../parse/mounts.js';
import { broadcastOf } from '../../parse/net.js';
import type { Reading } from '../types.js';

export interface Mapped<T> {
  reading: T;
  /** Fields left unset, with the reason (logged once by the collector). */
  unset: Record<string, string>;
}

type Platform = NodeJS.Platform;

const kb = (bytes: number) => Math.round(bytes / 1024);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

// --- system header -----------------------------------------------------------------------

/**
 * The header's `system` off Linux: the OS name and release ("macOS 14.1", "Windows 11 Pro
 * 10.0.22631", "FreeBSD 14.0-RELEASE"). On Linux the agent names the system from os-release as
 * the procfs source does (runtime/system.ts), so one machine's rows carry one name whichever
 * source read them.
 */
export function systemFromOsInfo(o: Pick<Si.OsData, 'platform' | 'distro' | 'release'>, platform: Platform): string {
  const release = (o.release ?? '').trim();
  let name = (o.distro ?? '').trim();
  if (platform === 'darwin') name = 'macOS';
  else if (platform === 'win32') name = name.replace(/^Microsoft\s+/i, '') || 'Windows';
  name ||= o.platform || platform;
  return release && !name.includes(release) ? `${name} ${release}` : name;
}

// --- cpusNumber, cpu ----------------------------------------------------------------------

export function mapCpusNumber(cpu: Pick<Si.CpuData, 'cores'>, load: Pick<Si.CurrentLoadData, 'cpus'>): Mapped<Reading<'cpusNumber'>> {
  const reading: Reading<'cpusNumber'> = {};
  const unset: Record<string, string> = {};
  if (finite(cpu.cores) && cpu.cores > 0) reading.cpusTotal = cpu.cores;
  else unset['cpusTotal'] = 'systeminformation cpu() gave no core count';
  if (load.cpus.length > 0) reading.cpusOnline = load.cpus.length;
  else unset['cpusOnline'] = 'systeminformation currentLoad() listed no CPU';
  return { reading, unset };
}

/**
 * The split of `iostat -c` from currentLoad()'s raw tick deltas (os.cpus(), i.e. libuv's
 * uv_cpu_info, plus steal from /proc/stat on Linux): %system includes interrupt time as sysstat's
 * does, guest time (already inside user on Linux) is not added again, and the percentages are of
 * the ticks libuv reports. libuv drops iowait and softirq (src/unix/linux.c read_times), so
 * iowaitPercent stays unset and softirq time is in none of the figures.
 */
export function mapCpu(load: Si.CurrentLoadData, platform: Platform): Mapped<Reading<'cpu'>> | undefined {
  const user = Math.max(0, load.rawCurrentLoadUser);
  const nice = Math.max(0, load.rawCurrentLoadNice);
  const system = Math.max(0, load.rawCurrentLoadSystem) + Math.max(0, load.rawCurrentLoadIrq);
  const steal = Math.max(0, load.rawCurrentLoadSteal);
  const idle = Math.max(0, load.rawCurrentLoadIdle);
  const total = user + nice + system + steal + idle;
  if (!(total > 0)) return undefined;
  const pct = (v: number) => (v / total) * 100;
  const reading: Reading<'cpu'> = { userPercent: pct(user), systemPercent: pct(system), idlePercent: pct(idle) };
  const unset: Record<string, string> = { iowaitPercent: 'the CPU times systeminformation reads (os.cpus()) have no iowait' };
  if (platform === 'win32') unset['nicePercent'] = 'Windows has no nice time (os.cpus() reports 0)';
  else reading.nicePercent = pct(nice);
  if (platform === 'linux') reading.stealPercent = pct(steal);
  else unset['stealPercent'] = `systeminformation reads steal time on Linux only (/proc/stat), not on ${platform}`;
  return { reading, unset };
}

// --- mem ------------------------------------------------------------------------------------

/**
 * The figures of `free -k -t`. Linux: systeminformation reads /proc/meminfo, and "used" is
 * procps-ng 3.3's total - free - buffers - (Cached + SReclaimable), as the procfs source
 * (parse/meminfo.ts). macOS: buffers and cache are not measured (systeminformation leaves its
 * placeholder 0); used is systeminformation's `active` (wired + compressed + anonymous -
 * purgeable pages of vm_stat, what Activity Monitor calls memory used) and cached its
 * `buffcache` (the rest of what is not free). Windows: used = total - free, no buffers or cache.
 * Shmem has no systeminformation figure anywhere.
 */
export function mapMem(m: Si.MemData, platform: Platform): Mapped<Reading<'mem'>> {
  const unset: Record<string, string> = { sharedMemKb: 'systeminformation mem() has no shared memory figure' };
  const reading: Reading<'mem'> = { totalMemKb: kb(m.total), freeMemKb: kb(m.free) };
  let used: number;
  if (platform === 'linux') {
    const cached = m.cached + m.reclaimable;
    used = m.total - m.free - m.buffers - cached;
    if (used < 0) used = m.total - m.free;
    reading.buffersMemKb = kb(m.buffers);
    reading.cachedMemKb = kb(cached);
  } else if (platform === 'darwin') {
    used = m.active;
    reading.cachedMemKb = kb(Math.max(0, m.buffcache));
    unset['buffersMemKb'] = 'macOS has no buffers figure (systeminformation reports a placeholder 0)';
  } else {
    used = m.total - m.free;
    unset['buffersMemKb'] = `systeminformation measures no buffers on ${platform} (placeholder 0)`;
    unset['cachedMemKb'] = `systeminformation measures no cache on ${platform} (placeholder 0)`;
  }
  reading.usedMemKb = kb(Math.max(0, used));
  reading.swapTotalKb = kb(m.swaptotal);
  reading.swapUsedKb = kb(m.swapused);
  reading.swapFreeKb = kb(m.swapfree);
  reading.totalRamKb = reading.totalMemKb! + reading.swapTotalKb;
  reading.usedRamKb = reading.usedMemKb + reading.swapUsedKb;
  reading.freeRamKb = reading.freeMemKb! + reading.swapFreeKb;
  return { reading, unset };
}

// --- partitions, disk -----------------------------------------------------------------------

export interface SiFilesystem extends DfRow {
  device: string;
  fsType: string;
  mountPoint: string;
  readOnly?: boolean;
}

/**
 * The filesystems of fsSize() that count, as the procfs source chooses them
 * (parse/mounts.ts selectRealFilesystems): a device path as source, no network filesystem or
 * read-only image, a device mounted twice once at its shortest mount point. Windows drives
 * (`C:`) are all kept. Sizes in 1K blocks as df prints them (systeminformation multiplied df's
 * 1K blocks by 1024, so the division is exact); Use% as df: used / (used + available), rounded up.
 */
export function mapFilesystems(list: readonly Si.FsSizeData[], platform: Platform): SiFilesystem[] {
  const rows = list.filter((f) => finite(f.size) && f.size > 0);
  const chosen =
    platform === 'win32'
      ? rows
      : (() => {
          const keep = new Set(selectRealFilesystems(rows.map((f) => ({ source: f.fs, mountPoint: f.mount, fsType: f.type.toLowerCase(), readOnly: f.rw === false }))).map((e) => `${e.source}\0${e.mountPoint}`));
          return rows.filter((f) => keep.has(`${f.fs}\0${f.mount}`));
        })();
  return chosen.map((f) => {
    const usedKb = Math.ceil(f.used / 1024);
    const freeKb = Math.ceil(f.available / 1024);
    const row: SiFilesystem = { device: f.fs, fsType: f.type, mountPoint: f.mount, totalKb: Math.ceil(f.size / 1024), usedKb, freeKb };
    if (usedKb + freeKb > 0) row.usagePercent = Math.ceil((usedKb * 100) / (usedKb + freeKb));
    if (f.rw !== null && f.rw !== undefined) row.readOnly = !f.rw;
    return row;
  });
}

type PartitionRow = NonNullable<Reading<'partitions'>['rows']>[number];

export function mapPartitions(fss: readonly SiFilesystem[]): Mapped<Reading<'partitions'>> {
  const unset: Record<string, string> = { fsErrors: 'ext4 error counts are read from /sys/fs/ext4 by the procfs source only' };
  const rows = fss.map((f) => {
    const row: PartitionRow = { device: f.device, fsType: f.fsType, totalKb: f.totalKb, usedKb: f.usedKb, freeKb: f.freeKb, mountPoint: f.mountPoint };
    if (f.usagePercent !== undefined) row.usagePercent = f.usagePercent;
    if (f.readOnly !== undefined) row.readOnly = f.readOnly ? 1 : 0;
    else unset['readOnly'] = 'systeminformation could not tell whether a filesystem is mounted read-only';
    return row;
  });
  return { reading: { rows }, unset };
}

export function mapDisk(fss: readonly SiFilesystem[]): Reading<'disk'> {
  const t = dfTotal(fss);
  const reading: Reading<'disk'> = { name: 'total', totalKb: t.totalKb, usedKb: t.usedKb, freeKb: t.freeKb };
  if (t.usagePercent !== undefined) reading.usagePercent = t.usagePercent;
  return reading;
}

// --- processesNumber, process ------------------------------------------------------------------

export function mapProcessesNumber(p: Pick<Si.ProcessesData, 'all' | 'running' | 'unknown'>): Mapped<Reading<'processesNumber'>> {
  const reading: Reading<'processesNumber'> = { total: p.all };
  const unset: Record<string, string> = {};
  // Windows leaves Win32_Process.ExecutionState empty: systeminformation counts those as unknown,
  // and a running count that skips them is not a count of running processes.
  if (p.unknown > 0) unset['active'] = `systeminformation could not tell the state of ${p.unknown} of ${p.all} processes`;
  else reading.active = p.running;
  return { reading, unset };
}

/** systeminformation's state words back to ps's letters (lib/processes.js parseLine maps R S T W X Z D/U). */
const STATE_LETTER: Record<string, string> = { running: 'R', sleeping: 'S', stopped: 'T', paging: 'W', dead: 'X', zombie: 'Z', blocked: 'D' };

type ProcessRow = NonNullable<Reading<'process'>['rows']>[number];

/**
 * The top `top` processes by CPU, ranked as the procfs source ranks them (CPU, then pid).
 * CPU is per core as ps and top print it (a process busy on two cores shows 200):
 * systeminformation gives a share of all cores on Linux (from /proc/<pid>/stat deltas) and
 * Windows (of the CPU time of all processes, the idle process included), so those are multiplied
 * by the CPU count; on macOS it is ps's %cpu, per core already. Unset everywhere: cpuTime
 * (systeminformation keeps no CPU time) and group. Windows: no user, nice or state.
 */
export function mapProcessTop(p: Si.ProcessesData, top: number, cpus: number, platform: Platform): Mapped<Reading<'process'>> {
  const unset: Record<string, string> = { cpuTime: 'systeminformation processes() gives no CPU time', group: 'systeminformation processes() gives no group' };
  const scale = platform === 'darwin' ? 1 : cpus;
  const ranked = [...p.list].sort((a, b) => b.cpu - a.cpu || a.pid - b.pid).slice(0, top);
  const rows = ranked.map((proc) => {
    const row: ProcessRow = { pid: proc.pid };
    if (finite(proc.cpu)) row.cpuPercent = proc.cpu * scale;
    if (finite(proc.mem)) row.memPercent = proc.mem;
    if (platform === 'win32') {
      unset['nice'] = 'Windows has no nice value (systeminformation reports a placeholder 0)';
      unset['user'] = 'systeminformation processes() gives no user on Windows';
    } else {
      if (finite(proc.nice)) row.nice = proc.nice;
      if (proc.user) row.user = proc.user;
    }
    const state = STATE_LETTER[proc.state];
    if (state) row.state = state;
    else unset['state'] = `systeminformation could not tell a process state (${proc.state || 'empty'})`;
    if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(proc.started ?? '')) row.start = proc.started;
    const command = [proc.path && platform !== 'win32' && !proc.command.startsWith('/') ? `${proc.path}/${proc.command}` : proc.command, proc.params].filter(Boolean).join(' ');
    if (command) row.command = command;
    return row;
  });
  return { reading: { rows }, unset };
}

// --- networkMetrics ---------------------------------------------------------------------------

type NetRow = NonNullable<Reading<'networkMetrics'>['rows']>[number];

/**
 * One row per interface of networkInterfaces() (on Linux the interfaces os.networkInterfaces()
 * lists, i.e. those with an address; the procfs source also lists those without one), with the
 * error counters of networkStats(). systeminformation counts bytes, not packets: rxPackets,
 * txPackets and collisions stay unset, and so do the link type, the transmit queue and the Wi-Fi
 * figures. The broadcast address is derived from address and netmask as the procfs source does,
 * but only for Ethernet-like (wired or wireless, not internal) interfaces, since the interface
 * flags are not known here.
 */
export function mapNetwork(ifaces: readonly Si.NetworkInterfacesData[], stats: readonly Si.NetworkStatsData[]): Mapped<Reading<'networkMetrics'>> {
  const unset: Record<string, string> = {
    rxPackets: 'systeminformation networkStats() counts bytes, not packets',
    txPackets: 'systeminformation networkStats() counts bytes, not packets',
    collisions: 'systeminformation gives no collision count',
    linkEncap: 'systeminformation gives no link encapsulation',
    txQueueLen: 'systeminformation gives no transmit queue length',
    wirelessLinkQuality: 'Wi-Fi figures are read from /proc/net/wireless by the procfs source only',
  };
  const byName = new Map(stats.map((s) => [s.iface, s]));
  const rows = ifaces.map((i) => {
    const row: NetRow = { name: i.iface };
    if (i.ip4) row.ipv4 = i.ip4;
    if (i.ip4subnet) row.netmask = i.ip4subnet;
    if (i.ip4 && i.ip4subnet && !i.internal && (i.type === 'wired' || i.type === 'wireless')) {
      const b = broadcastOf(i.ip4, i.ip4subnet);
      if (b !== undefined) row.broadcast = b;
    }
    if (i.ip6) row.ipv6 = i.ip6;
    if (i.mac) row.mac = i.mac;
    if (finite(i.mtu) && i.mtu > 0) row.mtu = i.mtu;
    // Wired links only, as the procfs source: a Wi-Fi rate is not a link speed.
    if (finite(i.speed) && i.speed > 0 && i.type !== 'wireless' && !i.internal) row.linkSpeedMbps = Math.round(i.speed);
    const s = byName.get(i.iface);
    if (s && s.ms !== undefined) {
      if (finite(s.rx_errors)) row.rxErrors = s.rx_errors;
      if (finite(s.tx_errors)) row.txErrors = s.tx_errors;
    }
    return row;
  });
  return { reading: { rows }, unset };
}

// --- systemAdditionalInfo -------------------------------------------------------------------

/**
 * Boot time from time().uptime (os.uptime()) at `nowMs`, rounded to the second as btime is;
 * users from users() (who on Unix: the utmp logins who -q counts); load from os.loadavg(),
 * which is always [0, 0, 0] on Windows (no load average there: unset).
 */
export function mapSystemAdditionalInfo(uptimeSeconds: number, nowMs: number, users: readonly Si.UserData[] | undefined, loadavg: readonly number[], platform: Platform): Mapped<Reading<'systemAdditionalInfo'>> {
  const reading: Reading<'systemAdditionalInfo'> = {};
  const unset: Record<string, string> = {};
  if (finite(uptimeSeconds) && uptimeSeconds > 0) reading.bootTime = formatLocalDateTime(new Date(Math.round((nowMs - uptimeSeconds * 1000) / 1000) * 1000));
  if (users) reading.usersLoggedIn = users.length;
  if (platform === 'win32') unset['load1'] = 'Windows has no load average (os.loadavg() is [0, 0, 0])';
  else if (loadavg.length === 3 && loadavg.every(finite)) [reading.load1, reading.load5, reading.load15] = loadavg as [number, number, number];
  return { reading, unset };
}

// --- temperature -------------------------------------------------------------------------------

type TemperatureRow = NonNullable<Reading<'temperature'>['rows']>[number];

/** cpuTemperature(): the main CPU figure as sensor `cpu`, one row per core `core<N>`; source `systeminformation`. */
export function mapTemperature(t: Si.CpuTemperatureData): TemperatureRow[] {
  const rows: TemperatureRow[] = [];
  // -1 and null are systeminformation's "no value".
  const real = (v: unknown): v is number => finite(v) && v > -273 && v !== -1;
  if (real(t.main)) rows.push({ sensor: 'cpu', source: 'systeminformation', degreesCelsius: t.main });
  (t.cores ?? []).forEach((c, i) => {
    if (real(c)) rows.push({ sensor: `core${i}`, source: 'systeminformation', degreesCelsius: c });
  });
  return rows;
}
