// The real filesystems (df -T -k) from /proc/self/mounts and statfs(2), read by the
// partitions and disk groups. Which filesystems count, and why: selectRealFilesystems. Paths
// of mount points are taken under the configured root, so an agent in a container with the
// host's / mounted at rootDir sees the host's disks.
// A namespace import: fs.promises.statfs exists from Node 18.15 on, and a named import of a
// missing export would stop the whole agent from loading on an older Node.
import * as fsp from 'node:fs/promises';
import { errText, SensorError } from '../../../common/errors.js';
import { dfRow, parseMounts, selectRealFilesystems, type DfRow, type MountEntry } from '../../parse/mounts.js';
import { readKernelFile } from '../../read/kernel-files.js';
import type { Paths } from '../../read/paths.js';
import type { LogOnce } from './log-once.js';

/** statfs of a dying USB disk can hang; such a filesystem is skipped this cycle. */
const STATFS_TIMEOUT_MS = 5000;

export interface FilesystemUsage extends MountEntry, DfRow {}

async function readMountTable(paths: Paths, once: LogOnce): Promise<string> {
  const self = paths.proc('self', 'mounts');
  try {
    return await readKernelFile(self);
  } catch (err) {
    once.warn('self/mounts', err, 'cannot read /proc/self/mounts; trying /proc/mounts');
  }
  const all = paths.proc('mounts');
  try {
    return await readKernelFile(all);
  } catch (err) {
    throw new SensorError(`cannot read the mount table (${self}, ${all}): ${errText(err)}`, { cause: err });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The df rows of the real filesystems, in mount-table order. */
export async function readFilesystems(paths: Paths, once: LogOnce): Promise<FilesystemUsage[]> {
  if (typeof fsp.statfs !== 'function') throw new SensorError('fs.promises.statfs is missing (Node older than 18.15); filesystems cannot be measured');
  const mounts = selectRealFilesystems(parseMounts(await readMountTable(paths, once)));
  const rows = await Promise.all(
    mounts.map(async (m): Promise<FilesystemUsage | undefined> => {
      const where = paths.root(m.mountPoint);
      try {
        const s = await withTimeout(fsp.statfs(where), STATFS_TIMEOUT_MS, `statfs ${where}`);
        once.ok(`statfs ${m.mountPoint}`);
        if (s.blocks === 0) return undefined; // df hides filesystems without blocks
        return { ...m, ...dfRow(s) };
      } catch (err) {
        once.warn(`statfs ${m.mountPoint}`, err, 'cannot statfs a mounted filesystem; it is left out');
        return undefined;
      }
    }),
  );
  return rows.filter((r): r is FilesystemUsage => r !== undefined);
}
