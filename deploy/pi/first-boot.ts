// First boot from a flashed SD card: a config file left on the boot partition
// (/boot/firmware/machmon.json, or /boot/machmon.json on older images) becomes the agent's
// config in /etc/machmon/, and the password leaves the boot partition (FAT, readable by anyone
// holding the card). Runs as root from the unit's `ExecStartPre=+`, before the agent starts.
// Node 18: only APIs that Debian bookworm's nodejs has.
import { closeSync, copyFileSync, chmodSync, chownSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { agentConfigLoader } from '../../agent/config.js';
import type { JsonObject } from '../../common/config-loader.js';

/** Where Raspberry Pi OS mounts the FAT boot partition: bookworm and later first, then older images. */
export const BOOT_CONFIG_FILES: readonly string[] = ['/boot/firmware/machmon.json', '/boot/machmon.json'];
export const DEFAULT_CONFIG_FILE = '/etc/machmon/agent.json';

export interface Owner { uid: number; gid: number }

export interface AdoptOptions {
  /** Candidate boot files; the first that exists is taken. */
  bootFiles?: readonly string[];
  /** Where the agent reads its config. */
  configFile: string;
  /** Owner of the written config (the agent's system user); default: the owner of the config it replaces. */
  owner?: Owner;
  now?: () => Date;
}

export type AdoptResult =
  | { action: 'none' }
  | { action: 'adopted'; from: string; to: string; backup?: string; notice: string }
  | { action: 'refused'; from: string; movedTo: string; reason: string };

/**
 * The boot file holds either a whole config file ({"agent": {...}, "log": {...}}) or just the
 * agent section ({"brokerUrl": ..., "password": ...}), which is easier to write by hand.
 * Returns the config file to store: only the agent and log sections.
 */
export function normalizeBootConfig(raw: unknown, source: string): JsonObject {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source} must hold a JSON object`, { code: 'CONFIG_UNREADABLE' });
  const obj = raw as JsonObject;
  if ('agent' in obj) {
    const out: JsonObject = { agent: obj.agent ?? null };
    if (obj.log !== undefined) out.log = obj.log;
    return out;
  }
  return { agent: obj };
}

/** Parses and validates a boot file's text; throws ConfigError naming the bad keys (never the values). */
export function parseBootConfig(text: string, source: string): JsonObject {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err, code: 'CONFIG_UNREADABLE' });
  }
  const config = normalizeBootConfig(raw, source);
  // Validated as the agent will read it, but without this process's environment.
  agentConfigLoader.load({ raw: config, source, sections: ['agent'], env: {} });
  return config;
}

/** uid and gid of a user in passwd(5) text. */
export function lookupUser(passwd: string, name: string): Owner | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  return undefined;
}

function writeFileDurably(file: string, data: string, mode: number, owner: Owner | undefined) {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // the umask may have narrowed or the file existed
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
  syncDir(path.dirname(file));
}

function syncDir(dir: string) {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* FAT and some file systems refuse fsync on a directory: nothing more to do */ }
}

/** Overwrites a file with zeros before unlinking it, so the old bytes do not stay in its clusters. */
function scrub(file: string) {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  try {
    const zeros = Buffer.alloc(Math.min(size, 64 * 1024));
    for (let done = 0; done < size; done += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, size - done), done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
  syncDir(path.dirname(file));
}

/**
 * Takes the first existing boot file as the agent's config. A valid one replaces the config
 * file (the old one is kept as <config>.bak, mode 600), is scrubbed from the boot partition and
 * leaves a notice without secrets. An invalid one is renamed to machmon.invalid.json, with the
 * reason in machmon.invalid.txt beside it, so it is not retried on every start; the agent then
 * starts with the config it already has.
 */
export function adoptBootConfig(opts: AdoptOptions): AdoptResult {
  const from = (opts.bootFiles ?? BOOT_CONFIG_FILES).find((f) => existsSync(f));
  if (!from) return { action: 'none' };
  const now = (opts.now ?? (() => new Date()))().toISOString();
  const bootDir = path.dirname(from);

  let config: JsonObject;
  try {
    config = parseBootConfig(readFileSync(from, 'utf8'), from);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const movedTo = path.join(bootDir, 'machmon.invalid.json');
    renameSync(from, movedTo);
    writeFileSync(path.join(bootDir, 'machmon.invalid.txt'), `${now}: Machmon did not take this configuration:\n${err.message}\nFix machmon.invalid.json and rename it to machmon.json.\n`);
    return { action: 'refused', from, movedTo, reason: err.message };
  }

  const to = opts.configFile;
  let owner = opts.owner;
  if (!existsSync(path.dirname(to))) {
    // Made here (no installer ran): root's, but the agent's group may enter it, as install.sh makes it.
    mkdirSync(path.dirname(to), { recursive: true, mode: 0o750 });
    if (owner) chownSync(path.dirname(to), 0, owner.gid);
  }
  let backup: string | undefined;
  if (existsSync(to)) {
    const st = statSync(to);
    owner ??= { uid: st.uid, gid: st.gid };
    backup = `${to}.bak`;
    copyFileSync(to, backup);
    chmodSync(backup, 0o600);
    chownSync(backup, owner.uid, owner.gid);
  }
  writeFileDurably(to, `${JSON.stringify(config, null, 2)}\n`, 0o600, owner);
  scrub(from);
  const notice = path.join(bootDir, 'machmon-applied.txt');
  writeFileSync(notice, `${now}: Machmon moved ${path.basename(from)} to ${to}; the password is no longer on this partition.\n`);
  return { action: 'adopted', from, to, backup, notice };
}
