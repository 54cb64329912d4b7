#!/usr/bin/env node
// Makes a fresh checkout ready for `npm start`, `npm test` and `npm run bench`: installs the
// node modules (npm ci) and compiles when needed, and for tests and benchmarks the Debian
// packages whose programs they run (as root: apt-get install; otherwise it names the command).
// Uses only Node's standard library: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'start';

/** Program -> Debian package, per mode. */
export const PACKAGES = {
  start: [],
  test: [
    ['influxd', 'influxdb'],
    ['mosquitto_sub', 'mosquitto-clients'],
    ['mosquitto_pub', 'mosquitto-clients'],
    // The ingestor's InfluxDB v2 write path is tested against it (/api/v2/write); never run as a service.
    ['victoria-metrics', 'victoria-metrics'],
    // The broker's TLS listener is tested with a self-signed certificate made at test time.
    ['openssl', 'openssl'],
    // The fleet load generator, mosquitto-config and shared subscriptions (test/scale) run against Debian's mosquitto broker.
    ['mosquitto', 'mosquitto'],
    // Two brokers sharing sessions and routing through Redis (broker.cluster, test/scale/cluster.test.ts).
    ['redis-server', 'redis-server'],
  ],
  bench: [
    ['influxd', 'influxdb'],
    ['mosquitto', 'mosquitto'],
    // `npm run bench -- agent` compares the agent with node_exporter scraped once a second.
    ['prometheus-node-exporter', 'prometheus-node-exporter'],
  ],
};

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
    console.error(`machmon: ${mode} needs the Debian packages ${missing.join(', ')}. Install them with:\n\n    sudo apt-get install -y ${missing.join(' ')}\n`);
    process.exit(1);
  }
  if (!run('apt-get', ['install', '-y', '--no-install-recommends', ...missing])) {
    if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', '--no-install-recommends', ...missing])) {
      console.error(`machmon: apt-get could not install ${missing.join(' ')}`);
      process.exit(1);
    }
  }
}

if (!PACKAGES[mode]) {
  console.error(`usage: ensure.mjs start|test|bench`);
  process.exit(2);
}
ensureNodeModules();
ensurePackages();
ensureBuilt();
