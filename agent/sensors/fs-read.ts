// Small, cheap file reads for sysfs/procfs collectors. Missing files are a normal answer
// (a board without that sensor), so they come back as undefined instead of throwing.
import { readdir, readFile } from 'node:fs/promises';

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

export const isMissing = (err: unknown): boolean => MISSING.has((err as NodeJS.ErrnoException)?.code ?? '');

/** File text, or undefined when the file does not exist. Other errors (EACCES, EIO...) throw. */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Directory entries (names), or [] when the directory does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** Parses a sysfs integer attribute ("46698\n"); undefined when it is not one. */
export function parseSysInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a sysfs hex attribute ("0x1003\n", as /sys/class/net/<if>/flags). */
export function parseSysHex(text: string | undefined): number | undefined {
  const m = /^(?:0x)?([0-9a-f]+)$/i.exec(text?.trim() ?? '');
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Short text of an error for a log line: its code when it has one. */
export const errText = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));
