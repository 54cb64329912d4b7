#!/usr/bin/env node
// `npm run build:agent`: the agent for Raspberry Pi OS as ONE self-contained file that runs on
// Debian bookworm's nodejs (Node 18), and a versioned tarball with checksums, the systemd unit,
// the installer and examples. No native module is bundled: onoff (GPIO) stays external and is
// loaded only when a GPIO sensor is configured.
//
//   node scripts/build-agent.mjs [--out <dir>]      (default build/agent)
//
// Output: <out>/machmon-agent.cjs, <out>/machmon-agent.meta.json (esbuild metafile),
//         <out>/machmon-agent-<version>.tar.gz and <out>/machmon-agent-<version>.tar.gz.sha256
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = path.resolve(outArg > 0 ? process.argv[outArg + 1] : path.join(repo, 'build/agent'));
const { version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));

/** Modules that must never be in the Pi bundle (server side) and the native ones left external. */
export const FORBIDDEN = [/node_modules\/aedes/, /node_modules\/@influxdata\//, /^broker\//, /^ingestor\//, /^cli\//];
export const EXTERNAL = ['onoff', 'epoll'];
/**
 * Never in the bundle: systeminformation, the source of machines without procfs (agent.source,
 * README "Other systems: macOS and Windows"). The agent reaches it only through import() when
 * that source is selected; a Pi never selects it, so it costs a Pi nothing. The bundle run with
 * agent.source systeminformation stops with a message saying to install the npm package.
 */
export const LEFT_OUT = ['systeminformation'];
/**
 * Optional modules that dependencies require inside try/catch and run fine without: ws's native
 * speed-ups. Left out on purpose; a new unresolved import makes the bundle test fail until it is
 * looked at and listed here.
 */
export const OPTIONAL = ['bufferutil', 'utf-8-validate'];
/**
 * Modules replaced in the bundle (source text of the replacement):
 * - worker-timers: MQTT.js's timers for browser tabs, required at load time although the agent
 *   asks for native timers (timerVariant: 'native'); with it go @babel/runtime, broker-factory
 *   and fast-unique-numbers. The stub throws if it is ever used.
 * - readable-stream: the userland copy of Node's streams that MQTT.js and bl require (116 KiB
 *   of source kept in memory); Node's own stream module has the same classes.
 * - long: protobufjs's 64-bit integers, which common/schema.ts turns off (plain numbers); the
 *   module also compiles a WebAssembly helper when loaded.
 * - lru-cache: MQTT 5 topic aliases only (the agent speaks MQTT 3.1.1). The stub throws.
 * - thread-stream: pino's worker-thread transports, never configured here. The stub throws.
 */
export const REPLACED = {
  'worker-timers': `const no = () => { throw new Error('worker-timers is not in the machmon agent bundle (timerVariant must be native)'); };
module.exports = { setInterval: no, clearInterval: no, setTimeout: no, clearTimeout: no };`,
  'readable-stream': `module.exports = require('node:stream');`,
  long: `module.exports = null;`,
  'lru-cache': `module.exports = { LRUCache: class { constructor() { throw new Error('lru-cache (MQTT 5 topic aliases) is not in the machmon agent bundle'); } } };`,
  'thread-stream': `module.exports = class { constructor() { throw new Error('thread-stream (pino transports) is not in the machmon agent bundle'); } };`,
};
const replaced = {
  name: 'replaced',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(REPLACED).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'replaced' }));
    b.onLoad({ filter: /.*/, namespace: 'replaced' }, (args) => ({ contents: REPLACED[args.path], loader: 'js' }));
  },
};

const result = await build({
  absWorkingDir: repo,
  entryPoints: ['deploy/pi/bundle-main.ts'],
  outfile: path.join(out, 'machmon-agent.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node18',
  // CommonJS named .cjs: Node runs it as CommonJS wherever it lies, also beside a package.json
  // saying "type": "module" (the checkout's own, for build/agent/machmon-agent.cjs).
  format: 'cjs',
  external: [...EXTERNAL, ...LEFT_OUT, ...OPTIONAL],
  plugins: [replaced],
  // common/log.ts loads pino-pretty with createRequire(import.meta.url) when it runs as ESM; in
  // this CommonJS file the bundled require() branch runs instead, and import.meta.url means the file.
  define: { MACHMON_AGENT_VERSION: JSON.stringify(version), 'import.meta.url': '__filename' },
  banner: { js: `#!/usr/bin/env node\n// machmon-agent ${version}: the Machmon agent in one file, for Node >= 18. Licenses: see the packages named below.` },
  legalComments: 'eof',
  // Smaller and faster to parse on a Pi Zero; names stay, so stack traces still say where.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
});

const bad = Object.keys(result.metafile.inputs).filter((input) => FORBIDDEN.some((re) => re.test(input)));
if (bad.length) {
  console.error(`build-agent: the Pi bundle must not contain server code, but it holds:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
writeFileSync(path.join(out, 'machmon-agent.meta.json'), JSON.stringify(result.metafile, null, 1));

// The tarball: one folder named after the version.
const name = `machmon-agent-${version}`;
const stage = path.join(out, name);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const files = [
  ['machmon-agent.cjs', path.join(out, 'machmon-agent.cjs'), 0o644],
  ['install.sh', path.join(repo, 'deploy/pi/install.sh'), 0o755],
  ['machmon-agent.service', path.join(repo, 'deploy/systemd/machmon-agent.service'), 0o644],
  ['machmon.example.json', path.join(repo, 'deploy/pi/machmon.example.json'), 0o644],
  ['user-data.example', path.join(repo, 'deploy/pi/cloud-init/user-data'), 0o644],
];
for (const [dest, src, mode] of files) {
  copyFileSync(src, path.join(stage, dest));
  chmodSync(path.join(stage, dest), mode);
}
writeFileSync(path.join(stage, 'VERSION'), `${version}\n`);
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sums = [...files.map(([dest]) => dest), 'VERSION'].sort().map((f) => `${sha256(path.join(stage, f))}  ${f}`);
writeFileSync(path.join(stage, 'SHA256SUMS'), `${sums.join('\n')}\n`);

// Reproducible: sorted names, fixed owner and time (SOURCE_DATE_EPOCH, else the last commit's).
const gitTime = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: repo, encoding: 'utf8' }).stdout?.trim();
const epoch = process.env.SOURCE_DATE_EPOCH ?? (gitTime || '0');
const tarball = path.join(out, `${name}.tar.gz`);
const tar = spawnSync('sh', ['-c', 'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" -C "$OUT" -cf - "$NAME" | gzip -9n > "$TARBALL"'], {
  env: { ...process.env, EPOCH: epoch, OUT: out, NAME: name, TARBALL: tarball },
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (tar.status !== 0) {
  console.error('build-agent: tar failed');
  process.exit(1);
}
writeFileSync(`${tarball}.sha256`, `${sha256(tarball)}  ${path.basename(tarball)}\n`);
const kib = (f) => `${Math.round(readFileSync(f).length / 1024)} KiB`;
console.log(`build-agent: ${path.relative(repo, path.join(out, 'machmon-agent.cjs'))} (${kib(path.join(out, 'machmon-agent.cjs'))}), ${path.relative(repo, tarball)} (${kib(tarball)})`);
