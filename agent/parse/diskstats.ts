// /proc/diskstats -> the device lines of `iostat -d -k`.

export interface DiskStat {
  name: string;
  readsCompleted: number;
  sectorsRead: number;
  writesCompleted: number;
  sectorsWritten: number;
  /** Discards completed (Linux 4.18+; 0 on older kernels). */
  discardsCompleted: number;
}

/** Columns (Documentation/admin-guide/iostats.rst): major minor name, then 11, 15 or 17 counters. */
export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = f.slice(3).map(Number);
    if (!n.every(Number.isFinite)) continue;
    out.push({
      name: f[2]!,
      readsCompleted: n[0]!,
      sectorsRead: n[2]!,
      writesCompleted: n[4]!,
      sectorsWritten: n[6]!,
      discardsCompleted: n[11] ?? 0,
    });
  }
  return out;
}

/**
 * Whether a block device is a whole disk as iostat -d lists it. With the names of
 * /sys/block (the kernel's list of disks, partitions are not in it) the answer is exact;
 * without, partition names are recognised by their shape (sda1, mmcblk0p1, nvme0n1p1).
 * RAM disks (ram0-15 on every Pi) and loop devices (snap images, disk images) are not
 * disks of the machine and are left out; zram (compressed swap in RAM) stays, as iostat
 * shows it and it tells how hard a small Pi swaps. Device-mapper (dm-N) and md RAID
 * devices stay too, as iostat shows them.
 */
export function isWholeDisk(name: string, sysBlock?: ReadonlySet<string>): boolean {
  if (/^(ram|loop)\d+$/.test(name)) return false;
  if (sysBlock) return sysBlock.has(name);
  if (/^(mmcblk|nvme\d+n|loop|md|nbd)\d+p\d+$/.test(name)) return false;
  if (/^(sd|hd|vd|xvd)[a-z]+\d+$/.test(name)) return false;
  return true;
}

export interface IoRow {
  deviceName: string;
  transfersPerSecond?: number;
  readKbPerSecond?: number;
  writtenKbPerSecond?: number;
  readKbTotal: number;
  writtenKbTotal: number;
  /** SD card wear: bytes written since the previous sample (none on the first) and since boot. */
  writtenBytes?: number;
  writtenBytesSinceBoot: number;
}

/**
 * Difference of a counter between two samples. Counters are `unsigned long` in the kernel,
 * 32 bits wide on 32-bit Pi kernels, so a decrease below 2^32 is a wrap; any other decrease
 * (device replaced) gives undefined.
 */
function delta(cur: number, prev: number): number | undefined {
  if (cur >= prev) return cur - prev;
  if (prev < 2 ** 32) return cur + 2 ** 32 - prev;
  return undefined;
}

/**
 * One iostat -d -k line: tps counts reads, writes and discards completed (sysstat 12), kB/s
 * from 512-byte sectors; totals since boot. Without prev (first sample) the rates are since
 * boot, like iostat's first report; `seconds` is then the uptime.
 */
export function ioRow(cur: DiskStat, prev: DiskStat | undefined, seconds: number): IoRow {
  const row: IoRow = {
    deviceName: cur.name,
    readKbTotal: Math.floor(cur.sectorsRead / 2),
    writtenKbTotal: Math.floor(cur.sectorsWritten / 2),
    writtenBytesSinceBoot: cur.sectorsWritten * 512,
  };
  if (prev) {
    const w = delta(cur.sectorsWritten, prev.sectorsWritten);
    if (w !== undefined) row.writtenBytes = w * 512;
  }
  if (!(seconds > 0)) return row;
  const zero: DiskStat = { name: cur.name, readsCompleted: 0, sectorsRead: 0, writesCompleted: 0, sectorsWritten: 0, discardsCompleted: 0 };
  const p = prev ?? zero;
  const ios = [delta(cur.readsCompleted, p.readsCompleted), delta(cur.writesCompleted, p.writesCompleted), delta(cur.discardsCompleted, p.discardsCompleted)];
  const rd = delta(cur.sectorsRead, p.sectorsRead);
  const wr = delta(cur.sectorsWritten, p.sectorsWritten);
  if (ios.every((v) => v !== undefined)) row.transfersPerSecond = (ios[0]! + ios[1]! + ios[2]!) / seconds;
  if (rd !== undefined) row.readKbPerSecond = rd / 2 / seconds;
  if (wr !== undefined) row.writtenKbPerSecond = wr / 2 / seconds;
  return row;
}

/** iostat hides devices that never did any I/O. */
export const everUsed = (d: DiskStat) => d.readsCompleted + d.writesCompleted + d.discardsCompleted > 0;
