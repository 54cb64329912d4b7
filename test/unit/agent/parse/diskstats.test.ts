import { describe, expect, it } from 'vitest';
import { ioRow, isWholeDisk, parseDiskstats } from '../../../../agent/parse/diskstats.js';
import { parseUptime } from '../../../../agent/parse/loadavg.js';
import { hostFile, iostatDevices } from '../../../../testkit/fixtures.js';

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
