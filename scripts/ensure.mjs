#!/usr/bin/env node
// Makes a fresh checkout ready for `npm start`, `npm test` and `npm run bench`: installs the
// node modules (npm ci) and compiles when needed, and for tests and benchmarks the Debian
// packages whose programs they run (as root: apt-get install; otherwise it names the command,
// and stops, except for `npm start`, which goes on without them).
// Uses only Node's standard library: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'start';

/** [program, Debian package, why] per mode (scripts/packages.json, also read by the integration tests' setup). */
const PACKAGES = JSON.parse(readFileSync(path.join(repo, 'scripts/packages.json'), 'utf8'));

const onPath = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0 || existsSync(`/usr/sbin/${bin}`) || existsSync(`/usr/bin/${bin}`);

function run(cmd, args) {
  console.error(`> ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

function ensureNodeModules() {
  const marker = path.join(repo, 'node_modules/.package-lock.json');
  const lock = path.join(repo, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('machmon: `npm ci` failed; see above.');
    process.exit(1);
  }
}

/** `npm test` compiles as part of its type check; start and bench compile here, so edits take effect. */
function ensureBuilt() {
  if (mode === 'test') return;
  if (!run('npx', ['tsc', '-p', 'tsconfig.json'])) process.exit(1);
}

function ensurePackages() {
  const missing = [...new Set(PACKAGES[mode].filter(([bin]) => !onPath(bin)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    // `npm start` runs without them (an InfluxDB may be configured elsewhere); `machmon up` says again what is missing.
    const verb = mode === 'start' ? 'uses' : 'needs';
    console.error(`machmon: ${mode} ${verb} the Debian packages ${missing.join(', ')}. Install them with:\n\n    sudo apt-get install -y ${missing.join(' ')}\n`);
    if (mode !== 'start') process.exit(1);
    return;
  }
  if (!run('apt-get', ['install', '-y', '--no-install-recommends', ...missing])) {
    if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', '--no-install-recommends', ...missing])) {
      console.error(`machmon: apt-get could not install ${missing.join(' ')}`);
      process.exit(1);
    }
  }
}

if (!Array.isArray(PACKAGES[mode])) {
  console.error(`usage: ensure.mjs start|test|bench`);
  process.exit(2);
}
ensureNodeModules();
ensurePackages();
ensureBuilt();
