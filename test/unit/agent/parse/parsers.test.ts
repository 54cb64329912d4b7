// The pure parsers of the procfs collectors, on text recorded on Raspberry Pis and on this
// machine, compared with what free, df, iostat and nproc printed on the same machine.
import { describe, expect, it } from 'vitest';
import { countCpuinfoProcessors, parseCpuList } from '../../../../agent/parse/cpu-list.js';
import { ioRow, isWholeDisk, parseDiskstats } from '../../../../agent/parse/diskstats.js';
import { formatLocalDateTime, parseLoadavg, parseUptime } from '../../../../agent/parse/loadavg.js';
import { memFromMeminfo, parseMeminfo } from '../../../../agent/parse/meminfo.js';
import { dfRow, dfTotal, parseMounts, selectRealFilesystems } from '../../../../agent/parse/mounts.js';
import { commandLine, formatCpuTime, parseIdNames, parsePidStat, parsePidStatus } from '../../../../agent/parse/pid.js';
import { cpuSplit, parseProcStat } from '../../../../agent/parse/proc-stat.js';
import { countUtmpUsers, isUserSession } from '../../../../agent/parse/utmp.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dfRows, hostFile, HOSTS, iostatDevices, output, OUTPUTS } from '../../../../testkit/fixtures.js';

describe('cpu lists and /proc/cpuinfo', () => {
  it('counts kernel CPU lists', () => {
    expect(parseCpuList('0-3\n')).toBe(4);
    expect(parseCpuList('0\n')).toBe(1);
    expect(parseCpuList('0,2-5,7\n')).toBe(6);
    expect(parseCpuList('\n')).toBe(0);
    expect(() => parseCpuList('zero')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/not a CPU list/);
  });

  it('agrees with nproc on this machine', () => {
    expect(parseCpuList(hostFile('x86/sys/devices/system/cpu/present'))).toBe(Number(hostFile('x86/out/nproc-all.txt')));
    expect(parseCpuList(hostFile('x86/sys/devices/system/cpu/online'))).toBe(Number(hostFile('x86/out/nproc.txt')));
    expect(countCpuinfoProcessors(hostFile('x86/proc/cpuinfo'))).toBe(Number(hostFile('x86/out/nproc.txt')));
  });

  it('counts the cores of every Pi cpuinfo (Zero W: 1, the others: 4, as iostat reports "(4 CPU)")', () => {
    expect(countCpuinfoProcessors(hostFile('pizero/proc/cpuinfo'))).toBe(1);
    for (const board of ['pi3', 'pi4', 'pi5', 'pizero2']) expect(countCpuinfoProcessors(hostFile(`${board}/proc/cpuinfo`)), board).toBe(4);
    for (const board of ['pi3', 'pi4', 'pi5']) expect(hostFile(`${board}/out/iostat.txt`)).toContain('(4 CPU)');
  });
});

describe('/proc/meminfo -> free', () => {
  it('matches `free -k -t` recorded at the same moment on this machine', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('x86/proc/meminfo')));
    expect(missing).toEqual([]);
    const free = hostFile('x86/out/free-k-t.txt').split('\n');
    const row = (label: string) => free.find((l) => l.startsWith(label))!.trim().split(/\s+/).slice(1).map(Number);
    const [total, used4, freeKb, shared, buffCache, available] = row('Mem:');
    const [swapTotal, swapUsed, swapFree] = row('Swap:');
    const [tTotal, tUsed, tFree] = row('Total:');
    expect(reading.totalMemKb).toBe(total);
    expect(reading.freeMemKb).toBe(freeKb);
    expect(reading.sharedMemKb).toBe(shared);
    expect(reading.buffersMemKb! + reading.cachedMemKb!).toBe(buffCache);
    // procps-ng 3.3 "used"; the recorded free (4.0.2) prints total - available instead.
    expect(reading.usedMemKb).toBe(total! - freeKb! - buffCache!);
    expect(used4).toBe(total! - available!);
    expect([reading.swapTotalKb, reading.swapUsedKb, reading.swapFreeKb]).toEqual([swapTotal, swapUsed, swapFree]);
    expect(reading.totalRamKb).toBe(tTotal);
    expect(reading.freeRamKb).toBe(tFree);
    expect(reading.usedRamKb).toBe(reading.usedMemKb! + swapUsed!);
    expect(tUsed).toBe(used4! + swapUsed!);
  });

  it('reads a Pi 3 B+ meminfo (with swap) the way procps 3.3 free would', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('pi3/proc/meminfo')));
    expect(missing).toEqual([]);
    // MemTotal 929100, MemFree 281036, Buffers 19376, Cached 277704, SReclaimable 19124, Shmem 16832, SwapTotal 204796, SwapFree 203772
    expect(reading).toEqual({
      totalMemKb: 929100,
      freeMemKb: 281036,
      buffersMemKb: 19376,
      cachedMemKb: 277704 + 19124,
      usedMemKb: 929100 - 281036 - 19376 - 277704 - 19124,
      sharedMemKb: 16832,
      swapTotalKb: 204796,
      swapFreeKb: 203772,
      swapUsedKb: 204796 - 203772,
      totalRamKb: 929100 + 204796,
      usedRamKb: 929100 - 281036 - 19376 - 277704 - 19124 + 204796 - 203772,
      freeRamKb: 281036 + 203772,
    });
  });

  it('reads the Pi 4 capture despite the space its script put before the first line', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo(hostFile('pi4/proc/meminfo')));
    expect(missing).toEqual([]);
    expect(reading.totalMemKb).toBe(3882988);
    expect(reading.freeMemKb).toBe(1742228);
  });

  it('leaves figures unset and names the lines that are missing', () => {
    const { reading, missing } = memFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemFree: 400 kB\n'));
    expect(reading).toEqual({ totalMemKb: 1000, freeMemKb: 400 });
    expect(missing.sort()).toEqual(['Buffers', 'Cached', 'Shmem', 'SwapFree', 'SwapTotal']);
  });

  it('falls back to total - free when the cache exceeds what is not free, as procps does', () => {
    const { reading } = memFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemFree: 400 kB\nBuffers: 100 kB\nCached: 600 kB\nShmem: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n'));
    expect(reading.usedMemKb).toBe(600);
  });
});

describe('/proc/stat -> iostat -c', () => {
  const iostatCpu = () => {
    const lines = hostFile('x86/out/iostat-c.txt').split('\n');
    return lines[lines.findIndex((l) => l.startsWith('avg-cpu')) + 1]!.trim().split(/\s+/).map(Number);
  };

  it('gives the since-boot split that iostat printed between the two reads of /proc/stat', () => {
    const before = cpuSplit(parseProcStat(hostFile('x86/proc/stat')).cpu!)!;
    const after = cpuSplit(parseProcStat(hostFile('x86/out/stat-after')).cpu!)!;
    const keys = ['userPercent', 'nicePercent', 'systemPercent', 'iowaitPercent', 'stealPercent', 'idlePercent'] as const;
    iostatCpu().forEach((printed, i) => {
      const k = keys[i]!;
      const lo = Math.min(before[k], after[k]) - 0.005;
      const hi = Math.max(before[k], after[k]) + 0.005;
      expect(printed, k).toBeGreaterThanOrEqual(Math.floor(lo * 100) / 100);
      expect(printed, k).toBeLessThanOrEqual(Math.ceil(hi * 100) / 100);
    });
    expect(Object.values(before).reduce((a, b) => a + b, 0)).toBeCloseTo(100, 9);
  });

  it('splits the ticks between two samples, guest time taken out of user, irq in system', () => {
    const a = parseProcStat('cpu  100 10 50 1000 5 1 2 3 20 4\ncpu0 1 1 1 1 1 1 1 1 1 1\nbtime 1700000000\n');
    const b = parseProcStat('cpu  200 20 80 1100 15 3 5 8 60 8\n');
    expect(a.cpuLines).toBe(1);
    expect(a.btime).toBe(1700000000);
    // deltas: user 100 (guest 40) -> 60, nice 10 (guest_nice 4) -> 6, system 30+2+3 = 35, idle 100, iowait 10, steal 5; total 216
    const s = cpuSplit(b.cpu!, a.cpu!)!;
    expect(s.userPercent).toBeCloseTo((60 / 216) * 100, 9);
    expect(s.nicePercent).toBeCloseTo((6 / 216) * 100, 9);
    expect(s.systemPercent).toBeCloseTo((35 / 216) * 100, 9);
    expect(s.idlePercent).toBeCloseTo((100 / 216) * 100, 9);
    expect(s.iowaitPercent).toBeCloseTo((10 / 216) * 100, 9);
    expect(s.stealPercent).toBeCloseTo((5 / 216) * 100, 9);
  });

  it('has no split when no tick passed, and clamps a counter that stepped back', () => {
    const a = parseProcStat('cpu  100 0 50 1000 5 0 0 0 0 0\n').cpu!;
    expect(cpuSplit(a, a)).toBeUndefined();
    const back = parseProcStat('cpu  110 0 50 1090 4 0 0 0 0 0\n').cpu!;
    const s = cpuSplit(back, a)!;
    expect(s.iowaitPercent).toBe(0);
    expect(s.userPercent).toBeCloseTo(10, 9);
  });

  it('reads the 4-column cpu line of very old kernels', () => {
    expect(parseProcStat('cpu 1 2 3 4\n').cpu).toMatchObject({ user: 1, nice: 2, system: 3, idle: 4, iowait: 0, steal: 0 });
    expect(parseProcStat('intr 1 2\n').cpu).toBeUndefined();
  });
});

describe('/proc/diskstats -> iostat -d -k', () => {
  it('gives the totals and since-boot rates that iostat printed between the two reads', () => {
    const up0 = parseUptime(hostFile('x86/out/uptime-before-diskstats'));
    const up1 = parseUptime(hostFile('x86/out/uptime-after-diskstats'));
    const before = parseDiskstats(hostFile('x86/proc/diskstats'));
    const after = parseDiskstats(hostFile('x86/out/diskstats-after'));
    const printed = iostatDevices(hostFile('x86/out/iostat-d-k.txt'));
    expect(printed.size).toBeGreaterThan(0);
    for (const [name, [tps, rds, wrs, , rdTotal, wrTotal]] of printed) {
      const b = ioRow(before.find((d) => d.name === name)!, undefined, up0);
      const a = ioRow(after.find((d) => d.name === name)!, undefined, up1);
      const between = (v: number | undefined, x: number | undefined, y: number | undefined, slack: number) => {
        expect(v).toBeGreaterThanOrEqual(Math.min(x!, y!) - slack);
        expect(v).toBeLessThanOrEqual(Math.max(x!, y!) + slack);
      };
      between(rdTotal, b.readKbTotal, a.readKbTotal, 0);
      between(wrTotal, b.writtenKbTotal, a.writtenKbTotal, 0);
      // iostat rounds to 2 decimals and measures time in jiffies (1/100 s).
      const slack = (v: number) => 0.005 + (v * 0.01) / up0;
      between(tps, b.transfersPerSecond, a.transfersPerSecond, slack(tps!));
      between(rds, b.readKbPerSecond, a.readKbPerSecond, slack(rds!));
      between(wrs, b.writtenKbPerSecond, a.writtenKbPerSecond, slack(wrs!));
    }
  });

  it('lists the whole disks the way iostat does, with /sys/block or by name', () => {
    const names = parseDiskstats(hostFile('x86/proc/diskstats')).map((d) => d.name);
    const sysBlock = new Set(hostFile('x86/out/ls-sys-block.txt').trim().split('\n'));
    expect(names.filter((n) => isWholeDisk(n, sysBlock))).toEqual(['vda', 'zram0']);
    expect(names.filter((n) => isWholeDisk(n))).toEqual(['vda', 'zram0']);
    // A Pi 3 B+: ram0-15, the SD card and its two partitions.
    const pi3 = hostFile('pi3/proc/partitions').split('\n').slice(2).map((l) => l.trim().split(/\s+/)[3]).filter((n): n is string => !!n);
    expect(pi3).toHaveLength(19);
    expect(pi3.filter((n) => isWholeDisk(n))).toEqual(['mmcblk0']);
    // The devices iostat listed on a Pi 4 (USB disk, zram swap) and a Pi 5.
    for (const board of ['pi3', 'pi4', 'pi5']) {
      for (const name of iostatDevices(hostFile(`${board}/out/iostat.txt`)).keys()) expect(isWholeDisk(name), `${board} ${name}`).toBe(true);
    }
    expect(['sda1', 'nvme0n1p2', 'mmcblk0p1', 'vdb3', 'loop0', 'ram3'].filter((n) => isWholeDisk(n))).toEqual([]);
    expect(['sda', 'nvme0n1', 'mmcblk1', 'dm-0', 'md0', 'zram1'].every((n) => isWholeDisk(n))).toBe(true);
  });

  it('computes rates between samples and survives a 32-bit counter wrap', () => {
    const [a] = parseDiskstats(' 179 0 mmcblk0 4294967000 0 100 0 10 0 4294967290 0 0 0 0 0 0 0 0 0 0\n');
    const [b] = parseDiskstats(' 179 0 mmcblk0 200 0 300 0 30 0 10 0 0 0 0 0 0 0 0 0 0\n');
    const r = ioRow(b!, a!, 2);
    expect(r.transfersPerSecond).toBe((496 + 20) / 2);
    expect(r.readKbPerSecond).toBe(200 / 2 / 2);
    expect(r.writtenKbPerSecond).toBe(16 / 2 / 2);
    expect(r.readKbTotal).toBe(150);
    const [big] = parseDiskstats(' 8 0 sda 5000000000 0 5000000000 0 1 0 1 0 0 0 0\n');
    expect(ioRow(a!, big!, 1).transfersPerSecond).toBeUndefined();
  });

  it('reads the 14-column lines of kernels before 4.18 (no discard counters)', () => {
    const [d] = parseDiskstats('   8       0 sda 10 0 80 0 5 0 40 0 0 0 0\n');
    expect(d).toMatchObject({ name: 'sda', readsCompleted: 10, sectorsRead: 80, writesCompleted: 5, sectorsWritten: 40, discardsCompleted: 0 });
  });
});

describe('mount table and statfs -> df', () => {
  it('picks the filesystems of `df -x tmpfs -x devtmpfs` on this machine', () => {
    const picked = selectRealFilesystems(parseMounts(hostFile('x86/proc/self/mounts')));
    const df = dfRows(hostFile('x86/out/df-T-k-x-tmpfs-x-devtmpfs.txt'), true);
    expect(picked.map((m) => [m.source, m.fsType, m.mountPoint])).toEqual(df.map((r) => [r.fs, r.type, r.mount]));
  });

  it('picks the SD card filesystems of a Pi 4 that df showed at the same moment', () => {
    const mounts = parseMounts(hostFile('pi4/proc/mounts'));
    expect(mounts[0]).toMatchObject({ source: 'sysfs', mountPoint: '/sys' });
    const picked = selectRealFilesystems(mounts);
    expect(picked).toEqual([
      { source: '/dev/mmcblk0p2', mountPoint: '/', fsType: 'ext4' },
      { source: '/dev/mmcblk0p1', mountPoint: '/boot/firmware', fsType: 'vfat' },
    ]);
    // df -h of the same Pi: its rows minus tmpfs and devtmpfs (udev) are exactly those.
    const typeOf = new Map(mounts.map((m) => [m.mountPoint, m.fsType]));
    const df = dfRows(hostFile('pi4/out/df-h.txt')).filter((r) => !['tmpfs', 'devtmpfs'].includes(typeOf.get(r.mount)!));
    expect(df.map((r) => [r.fs, r.mount])).toEqual(picked.map((m) => [m.source, m.mountPoint]));
  });

  it('drops pseudo, network and image filesystems, keeps one mount per device, decodes escapes', () => {
    const text = [
      '/dev/sda1 /mnt/usb\\040disk ext4 rw 0 0',
      '/dev/sda1 /srv/bind ext4 rw 0 0',
      '/dev/root / ext4 rw 0 0',
      'overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0',
      'server:/export /mnt/nfs nfs4 rw 0 0',
      '//nas/share /mnt/smb cifs rw 0 0',
      '/dev/loop3 /snap/core/1 squashfs ro 0 0',
      '/dev/sdb1 /media/win fuseblk rw 0 0',
      'tmpfs /tmp tmpfs rw 0 0',
    ].join('\n');
    expect(selectRealFilesystems(parseMounts(text)).map((m) => m.mountPoint)).toEqual(['/srv/bind', '/', '/media/win']);
    expect(parseMounts(text)[0]!.mountPoint).toBe('/mnt/usb disk');
  });

  it('computes Use% as df does, on the df rows recorded on Pis', () => {
    for (const board of ['pi3', 'pi4', 'pi5', 'cm4']) {
      for (const r of dfRows(hostFile(`${board}/out/raspinfo-df.txt`))) {
        const used = Number(r.used);
        const avail = Number(r.avail);
        // 1K blocks: blocks = size, bfree = size - used, bavail = available.
        const row = dfRow({ bsize: 1024, blocks: Number(r.size), bfree: Number(r.size) - used, bavail: avail });
        expect(row, `${board} ${r.mount}`).toEqual({ totalKb: Number(r.size), usedKb: used, freeKb: avail, usagePercent: Number(r.pct.replace('%', '')) });
      }
    }
  });

  it('converts 4K blocks to KB, leaves Use% unset without blocks, sums like df --total', () => {
    expect(dfRow({ bsize: 4096, blocks: 100, bfree: 60, bavail: 50 })).toEqual({ totalKb: 400, usedKb: 160, freeKb: 200, usagePercent: 45 });
    expect(dfRow({ bsize: 4096, blocks: 0, bfree: 0, bavail: 0 })).toEqual({ totalKb: 0, usedKb: 0, freeKb: 0 });
    // df --total of the Pi 4 SD card (raspinfo): / and /boot/firmware.
    const t = dfTotal([
      { totalKb: 30082288, usedKb: 7685152, freeKb: 20848844 },
      { totalKb: 522230, usedKb: 69422, freeKb: 452808 },
    ]);
    expect(t).toEqual({ totalKb: 30604518, usedKb: 7754574, freeKb: 21301652, usagePercent: 27 });
  });
});

describe('/proc/<pid> -> ps', () => {
  /** ps lines that did not change while /proc was copied: pid -> columns. */
  function stablePs(): Map<number, { user: string; group: string; ni: string; stat: string; lstart: string; time: string; args: string }> {
    const parse = (text: string) =>
      new Map(
        text
          .split('\n')
          .slice(1)
          .filter(Boolean)
          .map((l) => {
            const f = l.trim().split(/\s+/);
            return [l, { pid: Number(f[0]), user: f[1]!, group: f[2]!, ni: f[3]!, stat: f[4]!, lstart: f.slice(5, 10).join(' '), time: f[10]!, args: f.slice(11).join(' ') }] as const;
          }),
      );
    const before = parse(hostFile('x86/out/ps-before.txt'));
    const after = parse(hostFile('x86/out/ps-after.txt'));
    const out = new Map<number, { user: string; group: string; ni: string; stat: string; lstart: string; time: string; args: string }>();
    for (const [line, v] of before) if (after.has(line)) out.set(v.pid, v);
    return out;
  }

  it('gives ps its columns for the processes recorded on this machine', () => {
    const users = parseIdNames(hostFile('x86/etc/passwd'));
    const groups = parseIdNames(hostFile('x86/etc/group'));
    const btime = parseProcStat(hostFile('x86/proc/stat')).btime!;
    const ps = stablePs();
    expect(ps.size).toBeGreaterThan(40);
    const pretty = (s: string) => new Date(s).toISOString().slice(0, 19).replace('T', ' ');
    let compared = 0;
    for (const [pid, want] of ps) {
      const dir = path.join(HOSTS, 'x86/proc', String(pid));
      const st = parsePidStat(readFileSync(path.join(dir, 'stat'), 'utf8'));
      const status = parsePidStatus(readFileSync(path.join(dir, 'status'), 'utf8'));
      const cmd = commandLine(readFileSync(path.join(dir, 'cmdline'), 'utf8'), st.comm, st.state);
      expect(st.pid).toBe(pid);
      expect(users.get(status.euid!), `${pid} user`).toBe(want.user);
      expect(groups.get(status.egid!), `${pid} group`).toBe(want.group);
      expect(st.nice === undefined ? '-' : String(st.nice), `${pid} nice`).toBe(want.ni);
      expect(st.state, `${pid} state`).toBe(want.stat[0]);
      expect(formatCpuTime(st.cpuTicks), `${pid} time`).toBe(want.time);
      expect(cmd, `${pid} args`).toBe(want.args);
      // lstart was printed in UTC (the recording machine's zone); ps rounds the start down to the second.
      const start = new Date((btime + Math.floor(st.startTicks / 100)) * 1000).toISOString().slice(0, 19).replace('T', ' ');
      expect(start, `${pid} start`).toBe(pretty(`${want.lstart} UTC`));
      compared++;
    }
    expect(compared).toBe(ps.size);
  });

  it('finds the command name when it holds spaces and parentheses', () => {
    const odd = [...stablePs().values()].find((p) => p.args.includes('odd (name) x'));
    expect(odd).toBeDefined();
    // The recorded line with utime, stime and nice changed; without the fields after rss (old kernels).
    const st = parsePidStat('9626 (odd (name) x) S 9497 9452 4372 0 -1 4194304 101 0 0 0 7 3 0 0 20 5 1 0 110182 2990080 415 18446744073709551615');
    expect(st).toEqual({ pid: 9626, comm: 'odd (name) x', state: 'S', cpuTicks: 10, nice: 5, startTicks: 110182 });
    const rt = readFileSync(path.join(HOSTS, 'x86/proc/18/stat'), 'utf8');
    expect(parsePidStat(rt).nice).toBeUndefined(); // migration/0: SCHED_FIFO, ps prints "-"
    expect(stablePs().get(18)?.ni).toBe('-');
    expect(() => parsePidStat('')).toThrow(/not a \/proc/);
  });

  it('formats CPU time as ps does and shows argv-less processes in brackets', () => {
    expect(formatCpuTime(0)).toBe('00:00:00');
    expect(formatCpuTime(8300)).toBe('00:01:23');
    expect(formatCpuTime((2 * 86400 + 3 * 3600 + 4 * 60 + 5) * 100 + 99)).toBe('2-03:04:05');
    expect(commandLine('', 'kthreadd')).toBe('[kthreadd]');
    expect(commandLine('', 'esbuild', 'Z')).toBe('[esbuild] <defunct>');
    expect(commandLine('/usr/bin/labwc\0-m\0', 'labwc')).toBe('/usr/bin/labwc -m');
  });

  it('reads passwd and group, first entry winning', () => {
    const m = parseIdNames('# comment\nroot:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/x\nbroken\n');
    expect(m.get(0)).toBe('root');
    expect(m.get(65534)).toBe('nobody');
    expect(m.size).toBe(2);
  });
});

describe('uptime, load and users', () => {
  it('reads /proc/loadavg and /proc/uptime', () => {
    expect(parseLoadavg('0.74 2.50 4.16 1/211 4821\n')).toEqual({ load1: 0.74, load5: 2.5, load15: 4.16 });
    expect(() => parseLoadavg('')).toThrow(/loadavg/);
    expect(parseUptime(hostFile('x86/proc/uptime'))).toBeGreaterThan(0);
    expect(() => parseUptime('x')).toThrow(/uptime/);
  });

  it('formats the boot time as `uptime -s` printed it (machine in UTC)', () => {
    const btime = parseProcStat(hostFile('x86/proc/stat')).btime!;
    const uptimeS = hostFile('x86/out/uptime-s.txt').trim();
    const utc = new Date(btime * 1000).toISOString().slice(0, 19).replace('T', ' ');
    // uptime -s derives boot from now - uptime, btime is the kernel's: they may differ by a second.
    expect(Math.abs(Date.parse(`${utc}Z`) - Date.parse(`${uptimeS.replace(' ', 'T')}Z`))).toBeLessThanOrEqual(1000);
    const d = new Date(2025, 1, 5, 9, 4, 3);
    expect(formatLocalDateTime(d)).toBe('2025-02-05 09:04:03');
  });

  it('counts the users of a utmp file as who -q does', () => {
    const buf = readFileSync(path.join(OUTPUTS, 'utmp/utmp'));
    expect(buf.byteLength % 384).toBe(0);
    expect(countUtmpUsers(buf)).toBe(Number(/users=(\d+)/.exec(output('utmp/who-q.txt'))![1]));
    expect(countUtmpUsers(new Uint8Array(0))).toBe(0);
    // A truncated last record is ignored rather than misread.
    expect(countUtmpUsers(buf.subarray(0, buf.byteLength - 10))).toBe(2);
  });

  it('tells user sessions of logind from greeters and managers', () => {
    expect(isUserSession('# This is private data. Do not parse.\nUID=1000\nUSER=nisy\nACTIVE=1\nTYPE=wayland\nCLASS=user\n')).toBe(true);
    expect(isUserSession('UID=110\nUSER=lightdm\nCLASS=greeter\n')).toBe(false);
    expect(isUserSession('UID=1000\nUSER=pi\nTYPE=tty\n')).toBe(true);
  });
});
