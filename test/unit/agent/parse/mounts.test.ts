import { describe, expect, it } from 'vitest';
import { dfRow, dfTotal, parseMounts, selectRealFilesystems } from '../../../../agent/parse/mounts.js';
import { dfRows, hostFile } from '../../../../testkit/fixtures.js';

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
      { source: '/dev/mmcblk0p2', mountPoint: '/', fsType: 'ext4', readOnly: false },
      { source: '/dev/mmcblk0p1', mountPoint: '/boot/firmware', fsType: 'vfat', readOnly: false },
    ]);
    // The same recording's ramfs credential mounts are read-only (`ro,nosuid,...`).
    expect(mounts.filter((m) => m.readOnly).map((m) => m.fsType)).toEqual(['ramfs', 'ramfs', 'ramfs', 'ramfs']);
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
