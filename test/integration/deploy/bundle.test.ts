// The Pi bundle (`npm run build:agent`): one file, agent only, Node 18, plus a checked tarball.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../../testkit/repo.js';
import { buildAgent, type AgentBuild } from './build.js';
import { debianNode18, type DebianNode } from './debian-node18.js';
import { removeTempDirs, tempDir } from './tmp.js';

afterAll(removeTempDirs);

let build: AgentBuild;
beforeAll(() => {
  build = buildAgent();
});

const builtins = new Set(
  spawnSync(process.execPath, ['-p', 'require("module").builtinModules.join("\\n")'], { encoding: 'utf8' }).stdout.trim().split('\n'),
);

describe('agent bundle contents (metafile)', () => {
  it('holds the agent and none of the server side: no aedes, no InfluxDB client, no broker/ingestor/cli code', () => {
    const inputs = Object.keys(build.metafile.inputs);
    expect(inputs).toContain('agent/runtime/agent.ts');
    expect(inputs).toContain('deploy/pi/agent-entry.ts');
    const forbidden = inputs.filter((i) => /node_modules\/(aedes|@influxdata\/)|^(broker|ingestor|cli)\//.test(i));
    expect(forbidden).toEqual([]);
  });

  it('imports at run time only Node built-ins, onoff (GPIO, loaded lazily) and the optional modules dependencies try', () => {
    const output = Object.values(build.metafile.outputs)[0]!;
    const external = output.imports.filter((i) => i.external && !builtins.has(i.path.replace(/^node:/, '')));
    const allowed = ['onoff dynamic-import', 'systeminformation dynamic-import', 'bufferutil require-call', 'utf-8-validate require-call'];
    expect([...new Set(external.map((i) => `${i.path} ${i.kind}`))].filter((i) => !allowed.includes(i))).toEqual([]);
    // onoff is reached only through import(), i.e. when a GPIO sensor is configured;
    // systeminformation only when agent.source selects it (never on a Pi).
    expect(external.filter((i) => i.path === 'onoff').map((i) => i.kind)).toEqual(['dynamic-import']);
    expect(external.filter((i) => i.path === 'systeminformation').map((i) => i.kind)).toEqual(['dynamic-import']);
    // No native addon slipped in.
    expect(Object.keys(build.metafile.inputs).filter((i) => i.endsWith('.node'))).toEqual([]);
  });

  it('our own code in it uses no API newer than Node 18', () => {
    // Node 20+ APIs that esbuild's target cannot lower (it only rewrites syntax).
    const newer = /\.toSorted\(|\.toReversed\(|\.toSpliced\(|\.with\(\d|Object\.groupBy|Map\.groupBy|Promise\.withResolvers|Array\.fromAsync|import\.meta\.(dirname|filename)|getBuiltinModule|globSync|AbortSignal\.any|styleText|loadEnvFile|parseEnv|isWellFormed|Symbol\.(async)?[dD]ispose|\bnavigator\b/;
    const own = Object.keys(build.metafile.inputs).filter((i) => !i.includes('node_modules') && /\.(ts|js|mjs)$/.test(i));
    expect(own.length).toBeGreaterThan(5);
    const offenders = own.flatMap((file) =>
      readFileSync(path.join(REPO, file), 'utf8')
        .split('\n')
        .map((line, n) => ({ line, n }))
        .filter(({ line }) => newer.test(line) && !line.trim().startsWith('//'))
        .map(({ line, n }) => `${file}:${n + 1}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });

  it('leaves out what the agent never runs, which only cost a Pi memory', () => {
    const inputs = Object.keys(build.metafile.inputs);
    // systeminformation (agent.source: the procfs source is the Pi's); zod/mini instead of zod's
    // classic API; MQTT.js's client without connect() and its transports.
    const unwanted = inputs.filter((i) =>
      /node_modules\/(systeminformation|zod\/v4\/classic|ws|socks|ip-address|smart-buffer|worker-timers|@babel\/runtime|readable-stream|long|lru-cache|thread-stream)\/|node_modules\/mqtt\/build\/(index|mqtt|lib\/connect\/)/.test(i),
    );
    expect(unwanted).toEqual([]);
    // What replaces the modules dependencies require but the agent never calls (see REPLACED in scripts/build-agent.mjs).
    expect(inputs.filter((i) => i.startsWith('replaced:')).sort()).toEqual(['replaced:long', 'replaced:lru-cache', 'replaced:readable-stream', 'replaced:thread-stream', 'replaced:worker-timers']);
    // The source stays in V8's heap for the life of the process: it was 1.5 MiB.
    expect(statSync(build.bundle).size).toBeLessThan(700 * 1024);
  });

  it('is one file with a shebang and the version', () => {
    const text = readFileSync(build.bundle, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).toContain(`machmon-agent ${build.version}`);
    expect(text).not.toMatch(/require\(["']aedes|require\(["']@influxdata/);
  });
});

describe('agent tarball', () => {
  const list = () => spawnSync('tar', ['-tzvf', build.tarball], { encoding: 'utf8' }).stdout.trim().split('\n');

  it('holds the bundle, the unit, the installer, examples, VERSION and SHA256SUMS in one versioned folder', () => {
    const entries = list().map((l) => l.split(/\s+/).slice(-1)[0]);
    const dir = `machmon-agent-${build.version}/`;
    expect(entries.sort()).toEqual(
      [dir, ...['SHA256SUMS', 'VERSION', 'install.sh', 'machmon-agent.cjs', 'machmon-agent.service', 'machmon.example.json', 'user-data.example'].map((f) => dir + f)].sort(),
    );
    const installLine = list().find((l) => l.endsWith('/install.sh'))!;
    expect(installLine.startsWith('-rwxr-xr-x')).toBe(true);
    expect(list().every((l) => l.includes(' 0/0 '))).toBe(true);
  });

  it('checksums verify: the tarball against its .sha256, every file against SHA256SUMS', () => {
    expect(spawnSync('sha256sum', ['-c', `${path.basename(build.tarball)}.sha256`], { cwd: build.out, encoding: 'utf8' }).status).toBe(0);
    const x = tempDir('machmon-tar-');
    expect(spawnSync('tar', ['-xzf', build.tarball, '-C', x]).status).toBe(0);
    const dir = path.join(x, `machmon-agent-${build.version}`);
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
    expect(check.stdout.trim().split('\n')).toHaveLength(6);
    expect(check.status).toBe(0);
    expect(readFileSync(path.join(dir, 'VERSION'), 'utf8').trim()).toBe(build.version);
    // A changed bundle is caught.
    writeFileSync(path.join(dir, 'machmon-agent.cjs'), 'tampered', { flag: 'a' });
    expect(spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: dir }).status).not.toBe(0);
  });

  it('runs from a folder inside the checkout, whose package.json says "type": "module" (the .cjs name makes it CommonJS)', () => {
    const dir = path.join(REPO, 'build', `bundle-test-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const inside = path.join(dir, path.basename(build.bundle));
      copyFileSync(build.bundle, inside);
      expect(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).type).toBe('module');
      const r = spawnSync(process.execPath, [inside, '--version'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(build.version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads systeminformation when it is installed beside it (a Mac or a PC without the npm package)', async () => {
    const dir = tempDir('machmon-bundle-si-');
    copyFileSync(build.bundle, path.join(dir, 'machmon-agent.cjs'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(path.join(REPO, 'node_modules', 'systeminformation'), path.join(dir, 'node_modules', 'systeminformation'));
    writeFileSync(path.join(dir, 'si.json'), JSON.stringify({ agent: { password: 'x', source: 'systeminformation', brokerUrl: 'mqtt://127.0.0.1:1', dataDir: path.join(dir, 'data'), metrics: { latency: { enabled: false } } }, log: { level: 'info' } }));
    const child = spawn(process.execPath, [path.join(dir, 'machmon-agent.cjs'), '--config', path.join(dir, 'si.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stop = setTimeout(() => child.kill('SIGTERM'), 6000);
    const hard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(stop);
    clearTimeout(hard);
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; source?: string });
    expect(lines.find((l) => l.msg.startsWith('collectors read systeminformation'))?.source).toBe('systeminformation');
    expect(lines.some((l) => l.msg === 'machmon-agent bundle running')).toBe(true);
    expect(code).toBe(0);
  }, 30_000);

  it('is reproducible: the same sources give the same tarball', () => {
    const again = tempDir('machmon-agent-build2-');
    const r = spawnSync(process.execPath, [path.join(REPO, 'scripts/build-agent.mjs'), '--out', again], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(again, path.basename(build.tarball)))).toEqual(readFileSync(build.tarball));
  });
});

describe("the bundle on Debian bookworm's Node 18, away from node_modules", () => {
  let node: DebianNode;
  let bundle: string;
  beforeAll(() => {
    node = debianNode18(); // fails (does not skip) with the reason when apt-get download is impossible
    const dir = tempDir('machmon-bundle-alone-');
    bundle = path.join(dir, 'machmon-agent.cjs');
    copyFileSync(build.bundle, bundle);
  }, 180_000);

  it('prints its version and help', () => {
    const v = node.run([bundle, '--version'], { cwd: path.dirname(bundle) });
    expect(v.stderr).toBe('');
    expect(v.stdout.trim()).toBe(build.version);
    const h = node.run([bundle, '--help'], { cwd: path.dirname(bundle) });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('first-boot');
  });

  it('refuses a bad config with exit code 2 naming the key', () => {
    const cfg = path.join(path.dirname(bundle), 'bad.json');
    writeFileSync(cfg, JSON.stringify({ agent: { password: 'x', intervalMs: 'often' } }));
    const r = node.run([bundle, '--config', cfg], { cwd: path.dirname(bundle) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('agent.intervalMs');
    expect(node.run([bundle, '--colour']).status).toBe(2);
  });

  it('has no systeminformation: agent.source systeminformation stops at start with exit code 2 saying what to install', () => {
    const dir = path.dirname(bundle);
    const cfg = path.join(dir, 'si.json');
    writeFileSync(cfg, JSON.stringify({ agent: { password: 'x', source: 'systeminformation', dataDir: path.join(dir, 'si-data') } }));
    const r = node.run([bundle, '--config', cfg], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the systeminformation package cannot be loaded: install the agent with npm');
  });

  it('runs first-boot: takes a boot file as its config and scrubs it', () => {
    const dir = path.dirname(bundle);
    const boot = path.join(dir, 'boot-machmon.json');
    writeFileSync(boot, JSON.stringify({ brokerUrl: 'mqtt://monitor.lan:1883', password: 'fleet-secret' }));
    const target = path.join(dir, 'etc', 'agent.json');
    const r = node.run([bundle, 'first-boot', '--config', target, '--boot-file', boot], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ agent: { brokerUrl: 'mqtt://monitor.lan:1883', password: 'fleet-secret' } });
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(() => statSync(boot)).toThrow();
  });
});
