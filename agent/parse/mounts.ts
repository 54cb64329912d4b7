// /proc/self/mounts and statfs -> the rows of `df -T -k` over real filesystems.

export interface MountEntry {
  source: string;
  mountPoint: string;
  fsType: string;
  /** `ro` among the mount options. */
  readOnly: boolean;
}

/** /proc/mounts escapes space, tab, newline and backslash as \040 \011 \012 \134. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !f[0] || !f[1] || !f[2]) continue;
    out.push({ source: unescape(f[0]), mountPoint: unescape(f[1]), fsType: f[2], readOnly: (f[3] ?? '').split(',').includes('ro') });
  }
  return out;
}

/**
 * Network filesystems: not this machine's disks, and statfs on a dead server can block for
 * minutes, which would stall the collector.
 */
const NETWORK_FS = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ncpfs', '9p', 'ceph', 'glusterfs', 'afs', 'fuse.sshfs', 'fuse.glusterfs', 'fuse.rclone', 'davfs']);
/** Read-only images (snap packages, live media): always 100 % full, they would only skew the totals. */
const IMAGE_FS = new Set(['squashfs', 'iso9660', 'udf', 'erofs', 'cramfs']);

/**
 * The filesystems the Partitions and Disk groups report: what `df -x tmpfs -x devtmpfs`
 * shows, minus network filesystems and read-only images. A filesystem counts when its
 * source is a device path (/dev/mmcblk0p2, /dev/root, /dev/mapper/..., /dev/sda1 for
 * ntfs-3g's fuseblk), which leaves out every pseudo filesystem (proc, sysfs, cgroup, tmpfs,
 * devtmpfs, ramfs, overlay, bpf, ...). A device mounted more than once (bind mounts) is
 * reported once, at its shortest mount point, as df does. Filesystems with zero blocks are
 * dropped later, once statfs has been read (df hides them too).
 */
export function selectRealFilesystems(entries: readonly MountEntry[]): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const e of entries) {
    if (!e.source.startsWith('/') || e.source.startsWith('//')) continue;
    if (NETWORK_FS.has(e.fsType) || IMAGE_FS.has(e.fsType)) continue;
    const seen = byDevice.get(e.source);
    if (!seen || e.mountPoint.length < seen.mountPoint.length) byDevice.set(e.source, e);
  }
  // Keep the order of the mount table.
  const keep = new Set(byDevice.values());
  return entries.filter((e) => keep.has(e));
}

/** The fields of Node's fs.StatFs that df's arithmetic needs. */
export interface FsBlocks {
  /** Block size in bytes (Node reports f_bsize; equal to f_frsize on local block filesystems). */
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface DfRow {
  totalKb: number;
  usedKb: number;
  freeKb: number;
  usagePercent?: number;
}

/** Number of 1K blocks in n blocks of `bsize` bytes, rounded up as df does. */
const kb = (n: number, bsize: number) => Math.ceil((n * bsize) / 1024);

/**
 * df's figures (coreutils df.c): size = blocks, used = blocks - bfree, available = bavail
 * (what non-root users may still use; the reserved blocks are neither used nor free), and
 * Use% = used / (used + available), rounded up; unset when used + available is 0.
 */
export function dfRow(s: FsBlocks): DfRow {
  const used = Math.max(0, s.blocks - s.bfree);
  const avail = Math.max(0, s.bavail);
  const row: DfRow = { totalKb: kb(s.blocks, s.bsize), usedKb: kb(used, s.bsize), freeKb: kb(avail, s.bsize) };
  if (used + avail > 0) row.usagePercent = Math.ceil((used * 100) / (used + avail));
  return row;
}

/** `df --total`: sums of the rows, Use% recomputed from the summed used and available. */
export function dfTotal(rows: readonly DfRow[]): DfRow {
  const total = rows.reduce((a, r) => ({ totalKb: a.totalKb + r.totalKb, usedKb: a.usedKb + r.usedKb, freeKb: a.freeKb + r.freeKb }), { totalKb: 0, usedKb: 0, freeKb: 0 });
  const out: DfRow = { ...total };
  if (total.usedKb + total.freeKb > 0) out.usagePercent = Math.ceil((total.usedKb * 100) / (total.usedKb + total.freeKb));
  return out;
}
