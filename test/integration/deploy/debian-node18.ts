// Debian bookworm's own Node 18 (the `nodejs` package Raspberry Pi OS ships), fetched with
// `apt-get download` and unpacked under a stable temp path, so the agent bundle is tested on the
// runtime a Pi really has, without touching the machine's Node 20. Debian's node loads some
// built-in modules from /usr/share/nodejs: a private mount namespace (`unshare -m`) lays the
// unpacked folder over /usr/share for the child only (see /work/shared/notes/debian-node18.md).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CACHE = path.join(os.tmpdir(), 'machmon-debian-node18');
/** Debian's node needs these beside libnode; the versions follow the machine's apt lists. */
const EXTRA_PACKAGES = ['libc-ares2', 'node-acorn', 'node-cjs-module-lexer', 'node-undici', 'node-busboy'];

export interface DebianNode {
  /** Debian package version of nodejs, e.g. 18.20.4+dfsg-1~deb12u3. */
  readonly debVersion: string;
  readonly root: string;
  /** A shell script that runs Debian's node with its libraries: usable as /usr/bin/node inside a namespace whose /usr/share has the package's files (see SHARE_OVERLAY). */
  readonly wrapper: string;
  /** Spawns Debian's node with these arguments inside its own mount namespace. */
  spawn(args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs it to completion. */
  run(args: readonly string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
}

function sh(cmd: string, args: string[], cwd?: string) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function fail(what: string, detail: string): never {
  throw new Error(
    `Debian's Node 18 is needed to test the Pi bundle, but ${what}.\n${detail.trim()}\n` +
      'The test fetches it with `apt-get download nodejs libnode108 ...` (as root, Debian apt sources reachable) into ' +
      `${CACHE}; it never installs it over the machine's node.`,
  );
}

/** The newest 18.x version of nodejs that apt knows (apt-cache madison), after one `apt-get update` if none. */
function node18Version(): string {
  const find = () => sh('apt-cache', ['madison', 'nodejs']).stdout?.split('\n').map((l) => l.split('|')[1]?.trim()).find((v) => v?.startsWith('18.'));
  let v = find();
  if (!v) {
    const up = sh('apt-get', ['update']);
    if (up.status !== 0) fail('`apt-get update` failed', up.stderr ?? String(up.error));
    v = find();
  }
  if (!v) fail('apt knows no nodejs 18.x (this needs Debian bookworm sources)', sh('apt-cache', ['madison', 'nodejs']).stdout ?? '');
  return v;
}

function withLock<T>(dir: string, fn: () => T): T {
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is downloading; a lock older than 5 minutes was left by a killed run.
      try { if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true }); } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`${lock} held for 3 minutes`);
      spawnSync('sleep', ['0.5']);
    }
  }
  try { return fn(); } finally { rmSync(lock, { recursive: true, force: true }); }
}

/**
 * Shell commands (run inside `unshare -m`, with $R = the unpacked root) that lay the package's
 * /usr/share over the real one, read-only; where overlayfs is unavailable, bind just
 * /usr/share/nodejs (creating the empty folder if needed).
 */
export const SHARE_OVERLAY =
  `{ mount -t overlay overlay -o "lowerdir=$R/usr/share:/usr/share" /usr/share 2>/dev/null || ` +
  `{ mkdir -p /usr/share/nodejs && mount --bind "$R/usr/share/nodejs" /usr/share/nodejs; } || exit 97; }`;

/** Downloads and unpacks Debian's Node 18 once (cached under CACHE/<version>). Throws with a clear message when impossible. */
export function debianNode18(): DebianNode {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) fail('this is not Linux as root', 'apt-get download and unshare -m need root.');
  if (sh('sh', ['-c', 'command -v apt-get && command -v dpkg && command -v unshare']).status !== 0) fail('apt-get, dpkg or unshare is missing', '');
  const debVersion = node18Version();
  const dir = path.join(CACHE, debVersion.replace(/[^\w.+~-]/g, '_'));
  const root = path.join(dir, 'root');
  const marker = path.join(dir, '.complete');
  mkdirSync(CACHE, { recursive: true });
  withLock(dir, () => {
    if (existsSync(marker)) return;
    rmSync(dir, { recursive: true, force: true });
    const debs = path.join(dir, 'debs');
    mkdirSync(debs, { recursive: true });
    for (const p of [`nodejs=${debVersion}`, `libnode108=${debVersion}`, ...EXTRA_PACKAGES]) {
      const r = sh('apt-get', ['download', p], debs);
      if (r.status !== 0) fail(`\`apt-get download ${p}\` failed`, r.stderr ?? String(r.error));
    }
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
      const r = sh('dpkg', ['-x', path.join(debs, deb), root]);
      if (r.status !== 0) fail(`dpkg -x ${deb} failed`, r.stderr ?? '');
    }
    rmSync(debs, { recursive: true, force: true });
    writeFileSync(marker, `${debVersion}\n`);
  });

  const libDir = readdirSync(path.join(root, 'usr/lib')).map((d) => path.join(root, 'usr/lib', d)).find((d) => existsSync(path.join(d, 'libnode.so.108')));
  if (!libDir) fail(`libnode.so.108 is not in ${root}/usr/lib/*`, '');
  const wrapper = path.join(dir, 'node');
  writeFileSync(`${wrapper}.${process.pid}`, `#!/bin/sh\nLD_LIBRARY_PATH='${libDir}' exec '${root}/usr/bin/node' "$@"\n`, { mode: 0o755 });
  renameSync(`${wrapper}.${process.pid}`, wrapper); // atomic: another test file may be running it
  const script = `${SHARE_OVERLAY}; LD_LIBRARY_PATH="$L" exec "$R/usr/bin/node" "$@"`;
  const argv = (args: readonly string[]) => ['-m', 'sh', '-c', script, 'debian-node18', ...args];
  const env = (extra?: NodeJS.ProcessEnv) => ({ ...process.env, ...extra, R: root, L: libDir });

  const self: DebianNode = {
    debVersion,
    root,
    wrapper,
    spawn: (args, opts = {}) => spawn('unshare', argv(args), { ...opts, env: env(opts.env) }),
    run: (args, opts = {}) => {
      const r = spawnSync('unshare', argv(args), { cwd: opts.cwd, env: env(opts.env), encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
  };
  const check = self.run(['-p', 'process.version']);
  if (check.status !== 0 || !check.stdout.startsWith('v18.')) fail(`the unpacked node in ${root} does not run`, `${check.stdout}\n${check.stderr}`);
  return self;
}

export type ArmArch = 'arm64' | 'armhf';
const QEMU: Record<ArmArch, string> = { arm64: 'qemu-aarch64-static', armhf: 'qemu-arm-static' };
const TRIPLET: Record<ArmArch, string> = { arm64: 'aarch64-linux-gnu', armhf: 'arm-linux-gnueabihf' };

export interface DebianNodeArm {
  readonly arch: ArmArch;
  readonly debVersion: string;
  /** Spawns Debian's arm64 node under qemu-user (qemu's -L maps /lib, /usr/share/nodejs… into the unpacked root). */
  spawn(args: readonly string[], opts?: SpawnOptions): ChildProcess;
  run(args: readonly string[], opts?: { cwd?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
}

/**
 * Debian bookworm's arm64 or armhf nodejs (what a Pi runs with 64-bit or 32-bit Raspberry Pi OS;
 * Debian's armhf is ARMv7, so this is a Pi 2 or newer) with every library it needs, and Debian's
 * qemu user-mode emulator, unpacked under CACHE/<arch> once. The foreign package lists live in a
 * private apt state folder there: the machine's apt is left as it is.
 */
export function debianNode18Arm(arch: ArmArch): DebianNodeArm {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) fail('this is not Linux as root', 'apt-get download needs root.');
  const dir = path.join(CACHE, arch);
  const root = path.join(dir, 'root');
  const qemu = path.join(dir, 'usr/bin', QEMU[arch]);
  const marker = path.join(dir, '.complete');
  mkdirSync(CACHE, { recursive: true });
  withLock(dir, () => {
    if (existsSync(marker)) return;
    rmSync(dir, { recursive: true, force: true });
    const apt = path.join(dir, 'apt');
    for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(path.join(apt, d), { recursive: true });
    writeFileSync(path.join(apt, 'status'), '');
    const o = [
      '-o', `Dir::State::Lists=${apt}/lists`, '-o', `Dir::Cache=${apt}/cache`, '-o', `Dir::State::status=${apt}/status`,
      '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures::=${arch}`, '-o', 'Debug::NoLocking=1',
    ];
    // One index failing (a mirror mid-sync) is tolerated once the other lists have what is needed.
    let up = sh('apt-get', [...o, 'update']);
    if (up.status !== 0) {
      spawnSync('sleep', ['3']);
      up = sh('apt-get', [...o, 'update']);
    }
    const version = sh('apt-cache', [...o, 'madison', 'nodejs']).stdout?.split('\n').map((l) => l.split('|')[1]?.trim()).find((v) => v?.startsWith('18.'));
    if (!version) fail(`apt knows no ${arch} nodejs 18.x after \`apt-get update\` of the ${arch} package lists`, up.stderr ?? String(up.error));
    const deps = sh('apt-cache', [...o, 'depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', `nodejs=${version}`]);
    const names = [...new Set((deps.stdout ?? '').split('\n').filter((l) => l && !l.startsWith(' ') && !l.startsWith('<')).map((l) => l.replace(`:${arch}`, '')))];
    if (!names.includes('libnode108')) fail(`could not resolve the dependencies of ${arch} nodejs`, deps.stderr ?? '');
    const debs = path.join(dir, 'debs');
    mkdirSync(debs, { recursive: true });
    const pinned = names.map((n) => (n === 'nodejs' || n === 'libnode108' ? `${n}=${version}` : n));
    const dl = sh('apt-get', [...o, 'download', ...pinned], debs);
    if (dl.status !== 0) fail(`\`apt-get download\` of ${arch} nodejs and its libraries failed`, dl.stderr ?? String(dl.error));
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
      const r = sh('dpkg', ['-x', path.join(debs, deb), root]);
      if (r.status !== 0) fail(`dpkg -x ${deb} failed`, r.stderr ?? '');
    }
    // qemu-user-static for this machine's architecture: only the one emulator is kept.
    const q = sh('apt-get', ['download', 'qemu-user-static'], debs);
    if (q.status !== 0) fail('`apt-get download qemu-user-static` failed', q.stderr ?? String(q.error));
    const qdeb = readdirSync(debs).find((f) => f.startsWith('qemu-user-static_'))!;
    const x = sh('sh', ['-c', `dpkg --fsys-tarfile "${path.join(debs, qdeb)}" | tar -x -C "${dir}" ./usr/bin/${QEMU[arch]}`]);
    if (x.status !== 0 || !existsSync(qemu)) fail(`${QEMU[arch]} is not in qemu-user-static`, x.stderr ?? '');
    rmSync(debs, { recursive: true, force: true });
    rmSync(apt, { recursive: true, force: true });
    writeFileSync(marker, `${version}\n`);
  });
  const debVersion = readFileSync(marker, 'utf8').trim();
  // qemu finds the ARM loader in root (-L), but the loader has no ld.so.cache of its own there:
  // it is told where the libraries are. (Native programs the agent runs skip these ARM files.)
  const libs = `${root}/lib/${TRIPLET[arch]}:${root}/usr/lib/${TRIPLET[arch]}`;
  const argv = (args: readonly string[]) => ['-L', root, '-E', `LD_LIBRARY_PATH=${libs}`, path.join(root, 'usr/bin/node'), ...args];
  const self: DebianNodeArm = {
    arch,
    debVersion,
    spawn: (args, opts = {}) => spawn(qemu, argv(args), opts),
    run: (args, opts = {}) => {
      const r = spawnSync(qemu, argv(args), { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
  };
  const check = self.run(['-p', 'process.version + " " + process.arch']);
  if (check.status !== 0 || check.stdout.trim().split(' ')[1] !== (arch === 'armhf' ? 'arm' : 'arm64') || !check.stdout.startsWith('v18.')) fail(`${arch} node under ${qemu} does not run`, `${check.stdout}\n${check.stderr}`);
  return self;
}
