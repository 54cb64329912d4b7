// Both sources of agent.source on this machine, in one test, group by group (README "Other
// systems: macOS and Windows"): the procfs collectors and the systeminformation collectors read
// the same host at the same moments and must agree — the same fields set (apart from the
// documented list below), CPU count and memory totals equal, the same filesystems with sizes
// within 1 %, CPU percentages within the tolerance derived below, the same network interfaces.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../../agent/collectors/index.js';
import { siCollectors } from '../../../agent/collectors/si/index.js';
import { loadSi } from '../../../agent/collectors/si/source.js';
import type { Collector, CollectorEntry, Reading } from '../../../agent/collectors/types.js';
import type { CollectorTable } from '../../../agent/runtime/runner.js';
import type { MetricName } from '../../../common/schema.js';
import { collectorContext } from '../../../testkit/fixtures.js';
import { sleep } from '../../../testkit/wait.js';

/**
 * Fields the procfs source sets on Linux and the systeminformation source does not (README
 * "Other systems: macOS and Windows", the Linux column), with the reason.
 */
const ONLY_PROCFS: Partial<Record<MetricName, Record<string, string>>> = {
  cpu: { iowaitPercent: 'os.cpus() (libuv) drops iowait' },
  mem: { sharedMemKb: 'no Shmem in systeminformation mem()' },
  partitions: { fsErrors: 'ext4 errors_count is sysfs' },
  process: { cpuTime: 'processes() keeps no CPU time', group: 'processes() gives no group' },
  networkMetrics: {
    rxPackets: 'networkStats() counts bytes',
    txPackets: 'networkStats() counts bytes',
    collisions: 'no collision count',
    linkEncap: 'no link type',
    txQueueLen: 'no transmit queue length',
  },
};
/**
 * Set by systeminformation only where the procfs source leaves it unset on this machine: users,
 * when neither /run/utmp nor /run/systemd/sessions exists (procfs has no honest count; `who`,
 * which systeminformation runs, then prints nothing and it counts 0).
 */
const noUserRecords = !existsSync('/run/utmp') && !existsSync('/run/systemd/sessions');
const ONLY_SI: Partial<Record<MetricName, string[]>> = noUserRecords ? { systemAdditionalInfo: ['usersLoggedIn'] } : {};

const GROUPS = ['cpusNumber', 'cpu', 'mem', 'disk', 'partitions', 'processesNumber', 'process', 'networkMetrics', 'systemAdditionalInfo', 'temperature'] as const;
type Group = (typeof GROUPS)[number];

const { ctx } = collectorContext({ metrics: { process: { top: 10 } } });
const create = <M extends MetricName>(table: CollectorTable, name: M) => (table[name] as CollectorEntry<M>).create({ ...ctx, log: ctx.log.child({ collector: name }) });

let procfs: Record<Group, Collector>;
let si: Record<Group, Collector>;

/** The fields a reading sets: top-level keys, or the union over its rows. */
function fieldsOf(reading: Record<string, unknown>): Set<string> {
  const rows = reading['rows'];
  if (Array.isArray(rows)) return new Set(rows.flatMap((r: Record<string, unknown>) => Object.keys(r).filter((k) => r[k] !== undefined)));
  return new Set(Object.keys(reading).filter((k) => reading[k] !== undefined));
}

/** Both sources' readings of one group, taken together. */
async function both<M extends Group>(g: M): Promise<[Reading<M>, Reading<M>]> {
  const [a, b] = await Promise.all([procfs[g].collect(), si[g].collect()]);
  return [a as Reading<M>, b as Reading<M>];
}

/** /proc/stat's aggregate line: user nice system idle iowait irq softirq steal (ticks). */
const procStat = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);

beforeAll(async () => {
  const real = await loadSi();
  const siTable = siCollectors({ si: real, slowIntervalMs: 1000 });
  procfs = Object.fromEntries(GROUPS.map((g) => [g, create(COLLECTORS, g)])) as Record<Group, Collector>;
  si = Object.fromEntries(GROUPS.map((g) => [g, create(siTable, g)])) as Record<Group, Collector>;
});

afterAll(async () => {
  for (const c of [...Object.values(procfs ?? {}), ...Object.values(si ?? {})]) await c.close?.();
});

describe('procfs and systeminformation agree on this machine', () => {
  it('set the same fields, group by group, apart from the documented list', async () => {
    // A first reading primes the groups that report since the previous sample (cpu, process).
    await Promise.all(GROUPS.map((g) => both(g)));
    await sleep(1100);
    for (const g of GROUPS) {
      const [p, s] = await both(g);
      const pf = fieldsOf(p as Record<string, unknown>);
      const sf = fieldsOf(s as Record<string, unknown>);
      const onlyProcfs = [...pf].filter((f) => !sf.has(f)).sort();
      const onlySi = [...sf].filter((f) => !pf.has(f)).sort();
      expect({ group: g, onlyProcfs, onlySi }).toEqual({ group: g, onlyProcfs: Object.keys(ONLY_PROCFS[g] ?? {}).sort(), onlySi: (ONLY_SI[g] ?? []).sort() });
    }
  });

  it('count the same CPUs', async () => {
    const [p, s] = await both('cpusNumber');
    expect(s.cpusOnline).toBe(p.cpusOnline);
    // systeminformation's cores are os.cpus(), the CPUs online; equal to those present here.
    expect(s.cpusTotal).toBe(p.cpusTotal);
  });

  it('give the same memory and swap totals, and the same split within what changes between two reads', async () => {
    const [p, s] = await both('mem');
    expect(s.totalMemKb).toBe(p.totalMemKb);
    expect(s.swapTotalKb).toBe(p.swapTotalKb);
    expect(s.totalRamKb).toBe(p.totalRamKb);
    // Both read /proc/meminfo, a few ms apart: free and used move by what was allocated meanwhile.
    for (const k of ['usedMemKb', 'freeMemKb', 'buffersMemKb', 'cachedMemKb'] as const) expect(Math.abs(s[k]! - p[k]!), k).toBeLessThan(p.totalMemKb! * 0.01);
  });

  it('list the same filesystems, mount point by mount point, with sizes within 1 %', async () => {
    const [p, s] = await both('partitions');
    const byMount = (r: Reading<'partitions'>) => new Map((r.rows ?? []).map((row) => [row.mountPoint!, row]));
    const pm = byMount(p);
    const sm = byMount(s);
    expect([...sm.keys()].sort()).toEqual([...pm.keys()].sort());
    expect(pm.size).toBeGreaterThan(0);
    for (const [mount, a] of pm) {
      const b = sm.get(mount)!;
      expect(b.device, mount).toBe(a.device);
      expect(b.fsType, mount).toBe(a.fsType);
      expect(b.readOnly, mount).toBe(a.readOnly);
      for (const k of ['totalKb', 'usedKb', 'freeKb'] as const) expect(Math.abs(b[k]! - a[k]!), `${mount} ${k}`).toBeLessThanOrEqual(a.totalKb! * 0.01);
    }
    const [dp, ds] = await both('disk');
    for (const k of ['totalKb', 'usedKb', 'freeKb'] as const) expect(Math.abs(ds[k]! - dp[k]!), `disk ${k}`).toBeLessThanOrEqual(dp.totalKb! * 0.01);
  });

  it('split CPU time alike over the same interval, within the time the two reads cannot share', async () => {
    await both('cpu');
    const before = procStat();
    await sleep(2000);
    const t0 = performance.now();
    const [p, s] = await both('cpu');
    const skewMs = performance.now() - t0;
    const after = procStat();
    const d = after.map((v, i) => v - (before[i] ?? 0));
    const total = d.slice(0, 8).reduce((a, b) => a + b, 0);
    // Tolerance, in percentage points:
    // - os.cpus() (what systeminformation reads) has no iowait or softirq column: its
    //   percentages are of a total without them, so each can differ by their share;
    // - the two readings are not taken at the same instant: at most `skewMs` apart at each
    //   end of the interval, on 2 CPUs, a share of the interval's CPU time;
    // - libuv counts in 10 ms steps, USER_HZ 100: one tick per column and end.
    const iowaitSoftirq = ((d[4]! + d[6]!) / total) * 100;
    const cpus = p.userPercent !== undefined ? (await procfs.cpusNumber.collect() as Reading<'cpusNumber'>).cpusOnline! : 1;
    const intervalMs = (total / cpus) * 10;
    const skew = ((2 * skewMs) / intervalMs) * 100;
    const tick = (2 / total) * 100;
    const tolerance = iowaitSoftirq + skew + tick + 0.5;
    for (const k of ['userPercent', 'nicePercent', 'systemPercent', 'stealPercent', 'idlePercent'] as const) {
      expect(Math.abs(s[k]! - p[k]!), `${k}: procfs ${p[k]!.toFixed(2)}, systeminformation ${s[k]!.toFixed(2)}, tolerance ${tolerance.toFixed(2)}`).toBeLessThanOrEqual(tolerance);
    }
  });

  it('list the same network interfaces: every interface with an address, by name', async () => {
    const [p, s] = await both('networkMetrics');
    const siNames = (s.rows ?? []).map((r) => r.name!).sort();
    const withAddress = (p.rows ?? []).filter((r) => r.ipv4 !== undefined || r.ipv6 !== undefined).map((r) => r.name!).sort();
    expect(siNames).toEqual(withAddress);
    // systeminformation lists what os.networkInterfaces() lists: only interfaces with an address.
    const rest = (p.rows ?? []).filter((r) => !siNames.includes(r.name!));
    expect(rest.every((r) => r.ipv4 === undefined && r.ipv6 === undefined)).toBe(true);
    for (const row of s.rows ?? []) {
      const q = (p.rows ?? []).find((r) => r.name === row.name)!;
      expect({ ipv4: row.ipv4, netmask: row.netmask, ipv6: row.ipv6, mac: row.mac, mtu: row.mtu }, String(row.name)).toEqual({ ipv4: q.ipv4, netmask: q.netmask, ipv6: q.ipv6, mac: q.mac, mtu: q.mtu });
      // Counters only grow: systeminformation read them a moment later or earlier.
      expect(Math.abs(row.rxErrors! - q.rxErrors!), String(row.name)).toBeLessThanOrEqual(10);
    }
  });

  it('give the same boot time, load and users', async () => {
    const [p, s] = await both('systemAdditionalInfo');
    // btime is whole seconds; now - os.uptime() rounds to the nearest one.
    expect(Math.abs(Date.parse(s.bootTime!.replace(' ', 'T')) - Date.parse(p.bootTime!.replace(' ', 'T')))).toBeLessThanOrEqual(1000);
    expect(s.load15).toBeCloseTo(p.load15!, 1);
    if (p.usersLoggedIn !== undefined) expect(s.usersLoggedIn).toBe(p.usersLoggedIn);
  });

  it('count processes alike', async () => {
    const [p, s] = await both('processesNumber');
    // systeminformation's own `sh -c ps ...` and ps are among its processes; a busy machine
    // starts and ends a few more between the two scans.
    expect(Math.abs(s.total! - p.total!)).toBeLessThanOrEqual(Math.max(10, p.total! * 0.1));
  });
});
