// The procfs collectors on fixture trees (copies of recorded /proc, /sys and /etc in a
// temporary directory) and on this machine's real /proc.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../../../agent/collectors/index.js';
import { NoDataError, type Collector } from '../../../../agent/collectors/types.js';
import type { MetricName } from '../../../../common/schema.js';
import { encodeMetric, decodeMetric } from '../../../../common/schema.js';
import { SensorError } from '../../../../common/errors.js';
import { contextOn, dfRows, hostFile, HOSTS, iostatDevices, OUTPUTS, tempTree } from '../../../../testkit/fixtures.js';
import type { LogLine } from '../../../../testkit/log.js';

const GROUPS = ['cpusNumber', 'cpu', 'mem', 'disk', 'partitions', 'ioRatio', 'processesNumber', 'process', 'systemAdditionalInfo'] as const;
type Group = (typeof GROUPS)[number];

function make<M extends Group>(name: M, root: string, agent: Record<string, unknown> = {}): { c: Collector<M>; lines: LogLine[] } {
  const { ctx, lines } = contextOn(root, agent);
  return { c: (COLLECTORS[name] as { create: (x: typeof ctx) => Collector<M> }).create({ ...ctx, log: ctx.log.child({ collector: name }) }), lines };
}

/** Every reading must also make a valid payload (header added as the runner does). */
function roundTrip(name: MetricName, reading: object) {
  const header = { hostname: 'pi-test', system: 'Raspbian', sampleTimeMs: Date.now(), seq: 1, agentVersion: '0.1.0' };
  const bytes = encodeMetric(name, { header, ...reading } as never);
  expect(decodeMetric(name, bytes)).toMatchObject(JSON.parse(JSON.stringify(reading)) as object);
}

const warnings = (lines: LogLine[]) => lines.filter((l) => l.level === 40);

const trees: Array<() => void> = [];
afterEach(() => {
  while (trees.length) trees.pop()!();
});
function tree(...boards: string[]) {
  const t = tempTree(...boards);
  trees.push(t.cleanup);
  return t.root;
}

const savedTz = process.env.TZ;
beforeAll(() => {
  // The x86 recordings (ps lstart, uptime -s) were printed in UTC.
  process.env.TZ = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('on recorded trees', () => {
  it('cpusNumber: CPUs present and online from sysfs, as nproc --all and nproc print', async () => {
    const { c, lines } = make('cpusNumber', tree('x86'));
    const r = await c.collect();
    expect(r).toEqual({ cpusTotal: Number(hostFile('x86/out/nproc-all.txt')), cpusOnline: Number(hostFile('x86/out/nproc.txt')) });
    expect(warnings(lines)).toEqual([]);
    roundTrip('cpusNumber', r);
  });

  it('cpusNumber: a Pi tree with only /proc/cpuinfo gives the total, and says once why online is missing', async () => {
    const { c, lines } = make('cpusNumber', tree('pi4'));
    expect(await c.collect()).toEqual({ cpusTotal: 4 });
    expect(await c.collect()).toEqual({ cpusTotal: 4 });
    const w = warnings(lines).map((l) => l.what);
    expect(w.sort()).toEqual(['cpu/online', 'cpu/possible', 'cpu/present', 'stat']);
  });

  it('cpusNumber: fails with a coded error when nothing is readable', async () => {
    const { c } = make('cpusNumber', tree('cm4'));
    await expect(c.collect()).rejects.toBeInstanceOf(SensorError);
  });

  it('cpu: first sample since boot (as iostat -c), then the split between samples', async () => {
    const root = tree('x86');
    const { c } = make('cpu', root);
    const first = await c.collect();
    const iostat = hostFile('x86/out/iostat-c.txt').split('\n');
    const printed = iostat[iostat.findIndex((l) => l.startsWith('avg-cpu')) + 1]!.trim().split(/\s+/).map(Number);
    expect(first.userPercent).toBeCloseTo(printed[0]!, 1);
    expect(first.idlePercent).toBeCloseTo(printed[5]!, 1);
    // Same file again: no tick passed.
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    // One second later on two CPUs: 50 ticks user, 20 system, 10 softirq, 120 idle.
    const stat = hostFile('x86/proc/stat');
    const cpuLine = stat.split('\n')[0]!;
    const t = cpuLine.trim().split(/\s+/).slice(1).map(Number);
    const add = [50, 0, 20, 120, 0, 0, 10, 0, 0, 0];
    writeFileSync(path.join(root, 'proc/stat'), stat.replace(cpuLine, `cpu  ${t.map((v, i) => v + add[i]!).join(' ')}`));
    const second = await c.collect();
    expect(second).toEqual({ userPercent: 25, nicePercent: 0, systemPercent: 15, iowaitPercent: 0, stealPercent: 0, idlePercent: 60 });
    roundTrip('cpu', second);
  });

  it('mem: the figures of free on this machine and on a Pi 3', async () => {
    const x86 = await make('mem', tree('x86')).c.collect();
    expect(x86.totalMemKb).toBe(Number(hostFile('x86/out/free-k-t.txt').split('\n')[1]!.trim().split(/\s+/)[1]));
    roundTrip('mem', x86);
    const { c, lines } = make('mem', tree('pi3'));
    const pi3 = await c.collect();
    expect(pi3).toMatchObject({ totalMemKb: 929100, swapTotalKb: 204796, swapUsedKb: 1024, totalRamKb: 929100 + 204796 });
    expect(warnings(lines)).toEqual([]);
  });

  it('mem: a meminfo without Shmem and swap lines leaves those unset and says so once', async () => {
    const root = tree();
    mkdirSync(path.join(root, 'proc'));
    writeFileSync(path.join(root, 'proc/meminfo'), 'MemTotal: 1000 kB\nMemFree: 400 kB\nBuffers: 10 kB\nCached: 90 kB\n');
    const { c, lines } = make('mem', root);
    await c.collect();
    const r = await c.collect();
    expect(r).toEqual({ totalMemKb: 1000, freeMemKb: 400, buffersMemKb: 10, cachedMemKb: 90, usedMemKb: 500 });
    expect(warnings(lines).map((l) => l.what).sort()).toEqual(['meminfo/Shmem', 'meminfo/SwapFree', 'meminfo/SwapTotal']);
    rmSync(path.join(root, 'proc/meminfo'));
    await expect(c.collect()).rejects.toThrow(/cannot read .*meminfo/);
  });

  it('partitions and disk: the SD card filesystems of a Pi 4 mount table', async () => {
    const root = tree('pi4');
    mkdirSync(path.join(root, 'boot/firmware'), { recursive: true });
    const parts = await make('partitions', root).c.collect();
    expect(parts.rows!.map((r) => [r.device, r.fsType, r.mountPoint])).toEqual([
      ['/dev/mmcblk0p2', 'ext4', '/'],
      ['/dev/mmcblk0p1', 'vfat', '/boot/firmware'],
    ]);
    for (const r of parts.rows!) {
      expect(r.totalKb).toBeGreaterThan(0);
      expect(r.usedKb! + r.freeKb!).toBeLessThanOrEqual(r.totalKb!);
      expect(r.usagePercent).toBeGreaterThanOrEqual(0);
      expect(r.usagePercent).toBeLessThanOrEqual(100);
    }
    roundTrip('partitions', parts);
    const disk = await make('disk', root).c.collect();
    expect(disk.name).toBe('total');
    // Both mount points of the tree are on the same real filesystem here, so the total is twice one row
    // (give or take what other tests write meanwhile).
    expect(disk.totalKb).toBe(parts.rows!.reduce((a, r) => a + r.totalKb!, 0));
    roundTrip('disk', disk);
  });

  it('partitions: read-only flag from the mount options, ext4 errors_count of the recorded x86 disk', async () => {
    const root = tree('x86');
    const parts = await make('partitions', root).c.collect();
    expect(parts.rows!.find((r) => r.mountPoint === '/')).toMatchObject({ device: '/dev/vda', fsType: 'ext4', readOnly: 0, fsErrors: Number(hostFile('x86/sys/fs/ext4/vda/errors_count')) });
    writeFileSync(path.join(root, 'proc/self/mounts'), readFileSync(path.join(root, 'proc/self/mounts'), 'utf8').replace('/dev/vda / ext4 rw,', '/dev/vda / ext4 ro,'));
    writeFileSync(path.join(root, 'sys/fs/ext4/vda/errors_count'), 'x\n');
    const { c, lines } = make('partitions', root);
    const ro = (await c.collect()).rows!.find((r) => r.mountPoint === '/')!;
    expect(ro.readOnly).toBe(1);
    expect(ro.fsErrors).toBeUndefined();
    await c.collect();
    expect(lines.filter((l) => l.msg === 'ext4 errors_count malformed, left unset')).toHaveLength(1);
  });

  it('partitions: a mount point that cannot be measured is left out and logged once', async () => {
    const root = tree('pi4'); // no boot/firmware directory in the tree
    const { c, lines } = make('partitions', root);
    await c.collect();
    const r = await c.collect();
    expect(r.rows!.map((x) => x.mountPoint)).toEqual(['/']);
    // The Pi 4 recording has /proc/mounts only: that is said once too.
    expect(warnings(lines).map((l) => l.what)).toEqual(['self/mounts', 'statfs /boot/firmware']);
  });

  it('partitions: nothing real mounted is NoData', async () => {
    const root = tree();
    mkdirSync(path.join(root, 'proc/self'), { recursive: true });
    writeFileSync(path.join(root, 'proc/self/mounts'), 'proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n');
    await expect(make('partitions', root).c.collect()).rejects.toBeInstanceOf(NoDataError);
    await expect(make('disk', root).c.collect()).rejects.toBeInstanceOf(NoDataError);
  });

  it('ioRatio: the iostat -d -k figures since boot, then rates between samples', async () => {
    const root = tree('x86');
    copyFileSync(path.join(HOSTS, 'x86/out/uptime-before-diskstats'), path.join(root, 'proc/uptime'));
    const { c } = make('ioRatio', root);
    const first = await c.collect();
    // Whole disks that ever did I/O: what iostat listed.
    expect(first.rows!.map((r) => r.deviceName)).toEqual([...iostatDevices(hostFile('x86/out/iostat-d-k.txt')).keys()]);
    const [tps, rds, wrs, , rdTotal] = iostatDevices(hostFile('x86/out/iostat-d-k.txt')).get('vda')!;
    const vda = first.rows!.find((r) => r.deviceName === 'vda')!;
    expect(vda.transfersPerSecond).toBeCloseTo(tps!, 1);
    expect(vda.readKbPerSecond).toBeCloseTo(rds!, 0);
    expect(vda.writtenKbPerSecond).toBeCloseTo(wrs!, 0);
    expect(Math.abs(vda.readKbTotal! - rdTotal!)).toBeLessThanOrEqual(1024);
    roundTrip('ioRatio', first);

    copyFileSync(path.join(HOSTS, 'x86/out/diskstats-after'), path.join(root, 'proc/diskstats'));
    copyFileSync(path.join(HOSTS, 'x86/out/uptime-after-diskstats'), path.join(root, 'proc/uptime'));
    const second = await c.collect();
    const row = (text: string) => text.split('\n').find((l) => / vda /.test(l))!.trim().split(/\s+/).slice(3).map(Number);
    const b = row(hostFile('x86/proc/diskstats'));
    const a = row(hostFile('x86/out/diskstats-after'));
    const dt = Number(hostFile('x86/out/uptime-after-diskstats').split(' ')[0]) - Number(hostFile('x86/out/uptime-before-diskstats').split(' ')[0]);
    const v2 = second.rows!.find((r) => r.deviceName === 'vda')!;
    expect(v2.transfersPerSecond).toBeCloseTo((a[0]! - b[0]! + a[4]! - b[4]! + a[11]! - b[11]!) / dt, 6);
    expect(v2.readKbPerSecond).toBeCloseTo((a[2]! - b[2]!) / 2 / dt, 6);
  });

  it('ioRatio: a disk that appears between samples has totals but no rates yet', async () => {
    const root = tree();
    mkdirSync(path.join(root, 'proc'));
    writeFileSync(path.join(root, 'proc/uptime'), '100.00 300.00\n');
    writeFileSync(path.join(root, 'proc/diskstats'), ' 179 0 mmcblk0 100 0 2000 0 50 0 800 0 0 0 0\n');
    const { c, lines } = make('ioRatio', root);
    expect((await c.collect()).rows).toEqual([{ deviceName: 'mmcblk0', readKbTotal: 1000, writtenKbTotal: 400, writtenBytesSinceBoot: 409_600, transfersPerSecond: 1.5, readKbPerSecond: 10, writtenKbPerSecond: 4 }]);
    writeFileSync(path.join(root, 'proc/uptime'), '110.00 320.00\n');
    writeFileSync(path.join(root, 'proc/diskstats'), ' 179 0 mmcblk0 120 0 2400 0 50 0 800 0 0 0 0\n   8 0 sda 10 0 80 0 0 0 0 0 0 0 0\n   8 1 sda1 10 0 80 0 0 0 0 0 0 0 0\n');
    const r = await c.collect();
    expect(r.rows).toEqual([
      { deviceName: 'mmcblk0', readKbTotal: 1200, writtenKbTotal: 400, writtenBytesSinceBoot: 409_600, writtenBytes: 0, transfersPerSecond: 2, readKbPerSecond: 20, writtenKbPerSecond: 0 },
      { deviceName: 'sda', readKbTotal: 40, writtenKbTotal: 0, writtenBytesSinceBoot: 0 },
    ]);
    // No /sys/block in the tree: said once, names decide.
    expect(warnings(lines).map((l) => l.what)).toEqual(['sys/block']);
  });

  it('processesNumber and process: the recorded processes, with the columns ps printed', async () => {
    const root = tree('x86');
    const pn = await make('processesNumber', root).c.collect();
    const psLines = hostFile('x86/out/ps-after.txt').trim().split('\n').slice(1);
    expect(pn.total).toBe(psLines.length);
    expect(pn.active).toBe(psLines.filter((l) => l.trim().split(/\s+/)[4]!.startsWith('R')).length);
    roundTrip('processesNumber', pn);

    const { c, lines } = make('process', root, { metrics: { process: { top: 3 } } });
    const r = await c.collect();
    expect(r.rows).toHaveLength(3);
    // The busy shell loop ranks first.
    expect(r.rows![0]).toMatchObject({ command: 'sh -c while :; do :; done', user: 'root', group: 'root', state: 'R', nice: 0 });
    expect(r.rows![0]!.cpuPercent).toBeGreaterThan(20);
    for (let i = 1; i < r.rows!.length; i++) expect(r.rows![i - 1]!.cpuPercent).toBeGreaterThanOrEqual(r.rows![i]!.cpuPercent!);
    roundTrip('process', r);
    expect(warnings(lines)).toEqual([]);

    // All of them: compare with ps (lines that stayed the same while /proc was copied).
    const all = await make('process', root, { metrics: { process: { top: 1000 } } }).c.collect();
    const before = new Set(hostFile('x86/out/ps-before.txt').split('\n'));
    let compared = 0;
    for (const line of hostFile('x86/out/ps-after.txt').split('\n').slice(1).filter((l) => l && before.has(l))) {
      const f = line.trim().split(/\s+/);
      const row = all.rows!.find((x) => x.pid === Number(f[0]));
      expect(row, line).toBeDefined();
      expect([row!.user, row!.group, row!.nice === undefined ? '-' : String(row!.nice), row!.state, row!.cpuTime, row!.command]).toEqual([f[1], f[2], f[3], f[4]![0], f[10], f.slice(11).join(' ')]);
      expect(row!.start).toBe(new Date(`${f.slice(5, 10).join(' ')} UTC`).toISOString().slice(0, 19).replace('T', ' '));
      compared++;
    }
    expect(compared).toBeGreaterThan(40);
    const nobody = all.rows!.find((x) => x.command === 'sleep 603');
    expect(nobody).toMatchObject({ user: 'nobody', group: 'nogroup' });
    expect(all.rows!.find((x) => x.command === 'sleep 601')).toMatchObject({ nice: 5 });
    // Kernel threads have no resident memory.
    expect(all.rows!.find((x) => x.command === '[kthreadd]')!.memPercent).toBe(0);
    expect(nobody!.memPercent).toBeGreaterThan(0);
  });

  it('process: CPU use between samples, ids without a name shown as numbers, vanished processes skipped', async () => {
    const root = tree('x86');
    const { c } = make('process', root, { metrics: { process: { top: 2 } } });
    const first = await c.collect();
    const loop = first.rows![0]!;
    // 2 s later the loop has used 1.5 s more CPU and runs as uid 4242 (no such user).
    const dir = path.join(root, 'proc', String(loop.pid));
    const stat = hostFile(`x86/proc/${loop.pid}/stat`).split(' ');
    const ticks = Number(stat[13]) + 150;
    stat[13] = String(ticks);
    writeFileSync(path.join(dir, 'stat'), stat.join(' '));
    writeFileSync(path.join(dir, 'status'), hostFile(`x86/proc/${loop.pid}/status`).replace(/^Uid:.*$/m, 'Uid:\t4242\t4242\t4242\t4242'));
    const up = Number(hostFile('x86/proc/uptime').split(' ')[0]);
    writeFileSync(path.join(root, 'proc/uptime'), `${(up + 2).toFixed(2)} 0.00\n`);
    // The second-ranked process ends.
    rmSync(path.join(root, 'proc', String(first.rows![1]!.pid)), { recursive: true });
    const second = await c.collect();
    expect(second.rows).toHaveLength(2);
    expect(second.rows![0]).toMatchObject({ pid: loop.pid, user: '4242' });
    expect(second.rows![0]!.cpuPercent).toBeCloseTo(75, 6);
    expect(second.rows![1]!.pid).not.toBe(first.rows![1]!.pid);
  });

  it('systemAdditionalInfo: boot time as uptime -s, load, users as who -q', async () => {
    const root = tree('x86');
    mkdirSync(path.join(root, 'run'));
    copyFileSync(path.join(OUTPUTS, 'utmp/utmp'), path.join(root, 'run/utmp'));
    const { c, lines } = make('systemAdditionalInfo', root);
    const r = await c.collect();
    const [l1, l5, l15] = hostFile('x86/proc/loadavg').split(' ').map(Number);
    expect(r).toMatchObject({ usersLoggedIn: 3, load1: l1, load5: l5, load15: l15 });
    expect(Math.abs(Date.parse(`${r.bootTime!.replace(' ', 'T')}Z`) - Date.parse(`${hostFile('x86/out/uptime-s.txt').trim().replace(' ', 'T')}Z`))).toBeLessThanOrEqual(1000);
    expect(warnings(lines)).toEqual([]);
    roundTrip('systemAdditionalInfo', r);
  });

  it('systemAdditionalInfo: logind sessions without utmp; neither: users unset, said once', async () => {
    const root = tree('x86');
    const { c, lines } = make('systemAdditionalInfo', root);
    const r1 = await c.collect();
    await c.collect();
    expect(r1.usersLoggedIn).toBeUndefined();
    expect(r1.load1).toBeDefined();
    expect(warnings(lines).map((l) => l.what)).toEqual(['users']);
    const sessions = path.join(root, 'run/systemd/sessions');
    mkdirSync(sessions, { recursive: true });
    writeFileSync(path.join(sessions, '1'), 'UID=1000\nUSER=pi\nACTIVE=1\nTYPE=tty\nCLASS=user\n');
    writeFileSync(path.join(sessions, 'c1'), 'UID=110\nUSER=lightdm\nCLASS=greeter\n');
    writeFileSync(path.join(sessions, '1.ref'), '');
    expect((await c.collect()).usersLoggedIn).toBe(1);
    expect(lines.filter((l) => l.msg === 'value readable again').map((l) => l.what)).toEqual(['users']);
  });
});

describe("on this machine's real /proc", () => {
  const collectors = () => GROUPS.map((g) => make(g, '/').c as Collector);

  it('every collector reads sane values, twice (the second one from deltas)', async () => {
    const cs = collectors();
    for (let round = 0; round < 2; round++) {
      if (round === 1) await new Promise((r) => setTimeout(r, 300));
      const got = new Map<string, Record<string, unknown>>();
      for (const c of cs) {
        try {
          const r = (await c.collect()) as Record<string, unknown>;
          roundTrip(c.name, r);
          got.set(c.name, r);
        } catch (err) {
          // cpu may have seen no tick in 300 ms on an idle machine; nothing else may fail.
          expect(err, c.name).toBeInstanceOf(NoDataError);
          expect(c.name).toBe('cpu');
        }
      }
      const n = got.get('cpusNumber') as { cpusTotal: number; cpusOnline: number };
      expect(n.cpusTotal).toBeGreaterThanOrEqual(n.cpusOnline);
      expect(n.cpusOnline).toBeGreaterThanOrEqual(1);
      const cpu = got.get('cpu') as Record<string, number> | undefined;
      if (cpu) {
        for (const v of Object.values(cpu)) expect(v).toBeGreaterThanOrEqual(0);
        expect(Object.values(cpu).reduce((a, b) => a + b, 0)).toBeCloseTo(100, 6);
      }
      const mem = got.get('mem') as Record<string, number>;
      expect(mem.totalMemKb).toBeGreaterThan(100_000);
      expect(mem.usedMemKb! + mem.freeMemKb! + mem.buffersMemKb! + mem.cachedMemKb!).toBe(mem.totalMemKb);
      const ps = got.get('processesNumber') as { total: number; active: number };
      expect(ps.active).toBeGreaterThanOrEqual(1); // this process is running
      expect(ps.total).toBeGreaterThan(ps.active);
      const proc = got.get('process') as { rows: Array<Record<string, unknown>> };
      expect(proc.rows).toHaveLength(10);
      for (const row of proc.rows) {
        expect(row.cpuPercent as number).toBeGreaterThanOrEqual(0);
        expect(row.start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
        expect(row.cpuTime).toMatch(/^(\d+-)?\d\d:\d\d:\d\d$/);
        expect(typeof row.user).toBe('string');
      }
      const info = got.get('systemAdditionalInfo') as Record<string, unknown>;
      expect(info.bootTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(info.load1 as number).toBeGreaterThanOrEqual(0);
      const io = got.get('ioRatio') as { rows: Array<Record<string, number>> };
      for (const row of io.rows) {
        expect(row.readKbTotal).toBeGreaterThanOrEqual(0);
        expect(row.transfersPerSecond).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('partitions and disk agree with df run now (same filesystems, same sizes)', async () => {
    const parts = await make('partitions', '/').c.collect();
    const disk = await make('disk', '/').c.collect();
    const df = dfRows(execFileSync('df', ['-T', '-k', '-x', 'tmpfs', '-x', 'devtmpfs'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }), true);
    expect(parts.rows!.map((r) => [r.device, r.fsType, r.mountPoint])).toEqual(df.map((r) => [r.fs, r.type, r.mount]));
    df.forEach((r, i) => {
      const mine = parts.rows![i]!;
      expect(mine.totalKb).toBe(Number(r.size));
      // Other tests write files meanwhile: allow 64 MB of drift.
      expect(Math.abs(mine.usedKb! - Number(r.used))).toBeLessThan(65536);
      expect(Math.abs(mine.usagePercent! - Number(r.pct.replace('%', '')))).toBeLessThanOrEqual(1);
    });
    expect(disk.totalKb).toBe(parts.rows!.reduce((a, r) => a + r.totalKb!, 0));
  });
});

describe('the pid scan', () => {
  it('processesNumber and process started together share one scan of /proc/<pid>/stat; later runs scan again', async () => {
    const { sharedPidStats } = await import('../../../../agent/collectors/shared/pids.js');
    const { makePaths } = await import('../../../../agent/read/paths.js');
    const root = tree('x86');
    const paths = makePaths(root);
    const a = sharedPidStats(paths);
    const b = sharedPidStats(paths);
    expect(b).toBe(a);
    const first = await a;
    expect(first.length).toBeGreaterThan(10);
    // A process that ends between two cycles is seen gone by the next scan.
    rmSync(path.join(root, 'proc', String(first[first.length - 1]!.pid)), { recursive: true, force: true });
    expect((await sharedPidStats(paths)).length).toBe(first.length - 1);
  });
});
