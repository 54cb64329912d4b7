// deploy/pi/install.sh run for real with --root into a directory tree: every file, mode, owner,
// the system user and its groups, the unit and its enablement; upgrade keeps the config;
// --uninstall and --purge. The units are checked with `systemd-analyze verify` where it exists.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { parseArgs as parseCliArgs } from '../../../cli/main.js';
import { parseArgs } from '../../../deploy/pi/agent-entry.js';
import { hostKey } from '../../../broker/credentials.js';
import { parse as parseYaml } from 'yaml';
import { REPO } from '../../../testkit/repo.js';
import { buildAgent, type AgentBuild } from './build.js';
import { removeTempDirs, tempDir } from './tmp.js';
import { BROKER_METRICS_PORT } from '../../../broker/config.js';
import { INGESTOR_METRICS_PORT } from '../../../ingestor/config.js';

afterAll(removeTempDirs);

let build: AgentBuild;
let pkg: string; // the unpacked tarball folder
beforeAll(() => {
  build = buildAgent();
  const x = tempDir('machmon-install-pkg-');
  expect(spawnSync('tar', ['-xzf', build.tarball, '-C', x]).status).toBe(0);
  pkg = path.join(x, `machmon-agent-${build.version}`);
});

/** A minimal target system: account files with a gpio and an adm group, but no video group. */
function fakeRoot(): string {
  const root = tempDir('machmon-root-');
  mkdirSync(path.join(root, 'etc'));
  const w = (f: string, s: string, mode = 0o644) => writeFileSync(path.join(root, 'etc', f), s, { mode });
  w('passwd', 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n');
  w('group', 'root:x:0:\nadm:x:4:pi\ngpio:x:997:pi\npi:x:1000:\n');
  w('shadow', 'root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n', 0o640);
  w('gshadow', 'root:*::\nadm:*::pi\ngpio:!::pi\npi:!::\n', 0o640);
  return root;
}

function install(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('sh', [path.join(pkg, 'install.sh'), ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const passwdEntry = (root: string, user: string) => readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith(`${user}:`));
const groupMembers = (root: string, group: string) => (readFileSync(path.join(root, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith(`${group}:`)) ?? '').split(':')[3]?.split(',') ?? [];
const mode = (p: string) => statSync(p).mode & 0o777;

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;

describe('install.sh --root', () => {
  const password = `it's "fleet" $ecret \\ with spaces`;

  it('installs bundle, config (600, agent user), data dir, system user with gpio/adm, and the enabled unit', () => {
    const root = fakeRoot();
    const r = install(['--root', root, '--broker-url', 'mqtt://monitor.lan:1883', '--hostname', 'pi-kitchen'], { MACHMON_PASSWORD: password });
    expect(r.out).toContain('installed machmon-agent');
    expect(r.status).toBe(0);

    const [user] = passwdEntry(root, 'machmon');
    expect(user).toBeDefined();
    const [, , uid, gid, , home, shell] = user!.split(':');
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect(home).toBe('/var/lib/machmon');
    expect(shell).toBe('/usr/sbin/nologin');
    expect(groupMembers(root, 'gpio')).toContain('machmon');
    expect(groupMembers(root, 'adm')).toContain('machmon');
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).not.toContain('video'); // absent groups are not made

    const bundle = path.join(root, 'opt/machmon/machmon-agent.cjs');
    expect(readFileSync(bundle)).toEqual(readFileSync(build.bundle));
    expect(mode(bundle)).toBe(0o644);
    expect(readFileSync(path.join(root, 'opt/machmon/VERSION'), 'utf8').trim()).toBe(build.version);

    const etc = path.join(root, 'etc/machmon');
    expect(mode(etc)).toBe(0o750);
    expect(statSync(etc).uid).toBe(0);
    expect(statSync(etc).gid).toBe(Number(gid));
    const cfgFile = path.join(etc, 'agent.json');
    expect(mode(cfgFile)).toBe(0o600);
    expect([statSync(cfgFile).uid, statSync(cfgFile).gid]).toEqual([Number(uid), Number(gid)]);
    const raw = JSON.parse(readFileSync(cfgFile, 'utf8'));
    expect(raw).toEqual({ agent: { brokerUrl: 'mqtt://monitor.lan:1883', hostname: 'pi-kitchen', password } });
    // The agent accepts it as it is.
    expect(loadConfig({ raw, sections: ['agent'], env: {} }).agent!.password).toBe(password);

    const state = path.join(root, 'var/lib/machmon');
    expect(mode(state)).toBe(0o750);
    expect(statSync(state).uid).toBe(Number(uid));

    const unit = path.join(root, 'etc/systemd/system/machmon-agent.service');
    expect(mode(unit)).toBe(0o644);
    expect(readFileSync(unit, 'utf8')).toBe(readFileSync(path.join(REPO, 'deploy/systemd/machmon-agent.service'), 'utf8'));
    const wants = path.join(root, 'etc/systemd/system/multi-user.target.wants/machmon-agent.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/machmon-agent.service');
    expect(r.out).not.toContain(password);
    if (hasAnalyze) {
      const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      expect(v.stderr.split('\n').filter((l) => l.includes('machmon-agent'))).toEqual([]);
      expect(v.status).toBe(0);
    }
  });

  it('a second run upgrades the bundle in place and keeps the config; --reconfigure rewrites it', () => {
    const root = fakeRoot();
    expect(install(['--root', root, '--password', 'first'], {}).status).toBe(0);
    const cfgFile = path.join(root, 'etc/machmon/agent.json');
    const before = readFileSync(cfgFile, 'utf8');

    // A newer release: same layout, new version and bundle.
    const newer = tempDir('machmon-newer-');
    cpSync(pkg, newer, { recursive: true });
    writeFileSync(path.join(newer, 'VERSION'), '9.9.9\n');
    writeFileSync(path.join(newer, 'machmon-agent.cjs'), '// newer\n', { flag: 'a' });
    const r = spawnSync('sh', [path.join(newer, 'install.sh'), '--root', root, '--password', 'second'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`upgraded machmon-agent ${build.version} -> 9.9.9`);
    expect(r.stdout).toContain('kept');
    expect(readFileSync(cfgFile, 'utf8')).toBe(before);
    expect(readFileSync(path.join(root, 'opt/machmon/machmon-agent.cjs'), 'utf8').endsWith('// newer\n')).toBe(true);
    expect(readFileSync(path.join(root, 'opt/machmon/VERSION'), 'utf8')).toBe('9.9.9\n');
    expect(passwdEntry(root, 'machmon')).toHaveLength(1);
    expect(groupMembers(root, 'gpio').filter((m) => m === 'machmon')).toHaveLength(1);

    expect(install(['--root', root, '--reconfigure', '--password', 'third']).status).toBe(0);
    expect(JSON.parse(readFileSync(cfgFile, 'utf8')).agent.password).toBe('third');
    expect(mode(cfgFile)).toBe(0o600);
  });

  it('--host-key (or --host-key-file) puts the host key where the fleet password would go, and refuses what is no key', () => {
    const root = fakeRoot();
    const key = hostKey('the fleet secret', 'pi-kitchen');
    const keyFile = path.join(root, 'key');
    writeFileSync(keyFile, `${key}\n`);
    const r = install(['--root', root, '--broker-url', 'mqtt://monitor.lan:1883', '--hostname', 'pi-kitchen', '--host-key-file', keyFile]);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(path.join(root, 'etc/machmon/agent.json'), 'utf8'))).toEqual({ agent: { brokerUrl: 'mqtt://monitor.lan:1883', hostname: 'pi-kitchen', password: key } });
    expect(r.out).not.toContain(key);
    expect(install(['--root', root, '--reconfigure', '--host-key', key], {}).status).toBe(0);

    const typo = install(['--root', fakeRoot(), '--host-key', key.replace(/-/g, '')]);
    expect(typo.status).toBe(1);
    expect(typo.out).toContain('--host-key is not a host key');
    const both = install(['--root', fakeRoot(), '--host-key', key, '--password', 'fleet']);
    expect(both.status).toBe(1);
    expect(both.out).toContain('either --host-key or --password');
  });

  it('--ca-file installs the CA for an mqtts broker and points agent.caFile at it', () => {
    const root = fakeRoot();
    const ca = path.join(root, 'my-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const r = install(['--root', root, '--broker-url', 'mqtts://monitor.lan:8883', '--password', 'x', '--ca-file', ca]);
    expect(r.status, r.out).toBe(0);
    const installed = path.join(root, 'etc/machmon/ca.pem');
    expect(readFileSync(installed, 'utf8')).toBe(readFileSync(ca, 'utf8'));
    expect(mode(installed)).toBe(0o644);
    expect(JSON.parse(readFileSync(path.join(root, 'etc/machmon/agent.json'), 'utf8')).agent).toEqual({ brokerUrl: 'mqtts://monitor.lan:8883', caFile: '/etc/machmon/ca.pem', password: 'x' });
    expect(install(['--root', root, '--ca-file', path.join(root, 'missing.pem')]).out).toContain('cannot read');
  });

  it('without a password it installs and waits for the first-boot file', () => {
    const root = fakeRoot();
    const r = install(['--root', root]);
    expect(r.status).toBe(0);
    expect(r.out).toContain('boot partition');
    expect(existsSync(path.join(root, 'etc/machmon/agent.json'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/systemd/system/machmon-agent.service'))).toBe(true);
  });

  it('--uninstall removes service and bundle but keeps config, data and user; --purge removes everything', () => {
    const root = fakeRoot();
    expect(install(['--root', root, '--password', 'x']).status).toBe(0);
    expect(install(['--root', root, '--uninstall']).status).toBe(0);
    expect(existsSync(path.join(root, 'opt/machmon'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/systemd/system/machmon-agent.service'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/machmon-agent.service'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/machmon/agent.json'))).toBe(true);
    expect(passwdEntry(root, 'machmon')).toHaveLength(1);

    expect(install(['--root', root, '--uninstall', '--purge']).status).toBe(0);
    expect(existsSync(path.join(root, 'etc/machmon'))).toBe(false);
    expect(existsSync(path.join(root, 'var/lib/machmon'))).toBe(false);
    expect(passwdEntry(root, 'machmon')).toHaveLength(0);
    expect(groupMembers(root, 'gpio')).toEqual(['pi']);
    // Running it again on a clean system is harmless.
    expect(install(['--root', root, '--uninstall', '--purge']).status).toBe(0);
  });

  it('refuses bad options with a message', () => {
    const root = fakeRoot();
    const bad = install(['--root', root, '--frobnicate']);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('unknown option --frobnicate');
    const host = install(['--root', root, '--password', 'x', '--hostname', 'pi kitchen']);
    expect(host.status).not.toBe(0);
    expect(host.out).toContain('--hostname');
    expect(install(['--root', root, '--password']).out).toContain('--password needs a value');
    expect(install(['--root', root, '--bundle', '/nonexistent/machmon-agent.cjs', '--password', 'x']).out).toContain('no bundle at');
  });
});

describe('systemd units', () => {
  const units = ['machmon-agent.service', 'machmon-broker.service', 'machmon-ingestor.service'];

  it.each(units)('%s restarts always, runs unprivileged and sandboxed', (name) => {
    const text = readFileSync(path.join(REPO, 'deploy/systemd', name), 'utf8');
    for (const line of ['Restart=always', 'User=machmon', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'WantedBy=multi-user.target']) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node /m);
  });

  it("the agent unit's command lines are ones the bundle accepts: first-boot as root, then the agent, on the same config", () => {
    const text = readFileSync(path.join(REPO, 'deploy/systemd/machmon-agent.service'), 'utf8');
    const line = (key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1).split(' ');
    // ExecStartPre=+/bin/sh -c '<only when a boot file exists> exec /usr/bin/node <bundle> first-boot ...'
    const preLine = text.split('\n').find((l) => l.startsWith('ExecStartPre='))!;
    expect(preLine.startsWith("ExecStartPre=+/bin/sh -c '")).toBe(true);
    const preScript = preLine.slice("ExecStartPre=+/bin/sh -c '".length, -1);
    expect(spawnSync('sh', ['-n', '-c', preScript]).status).toBe(0);
    for (const f of ['/boot/firmware/machmon.json', '/boot/machmon.json']) expect(preScript).toContain(`[ -e ${f} ]`);
    const pre = preScript.slice(preScript.indexOf('exec ') + 5, preScript.lastIndexOf(';')).split(' ');
    const exec = line('ExecStart');
    expect(pre.slice(0, 2)).toEqual(['/usr/bin/node', '/opt/machmon/machmon-agent.cjs']);
    // The agent itself runs with Node's footprint flags (node options, before the bundle).
    const bundleAt = exec.indexOf('/opt/machmon/machmon-agent.cjs');
    expect(exec[0]).toBe('/usr/bin/node');
    const nodeFlags = exec.slice(1, bundleAt);
    expect(nodeFlags).toEqual(['--max-semi-space-size=1', '--jitless', '--no-expose-wasm', '--single-threaded']);
    expect(spawnSync(process.execPath, [...nodeFlags, '-e', '0']).status, 'node accepts the flags').toBe(0);
    const preArgs = parseArgs(pre.slice(2));
    const startArgs = parseArgs(exec.slice(bundleAt + 1));
    expect(preArgs).toMatchObject({ command: 'first-boot', owner: 'machmon', config: '/etc/machmon/agent.json' });
    expect(preArgs.error).toBeUndefined();
    expect(startArgs).toMatchObject({ command: 'agent', config: '/etc/machmon/agent.json' });
    expect(startArgs.error).toBeUndefined();
    expect(text.split('\n')).toContain('WorkingDirectory=/var/lib/machmon');
  });

  it.each(['broker', 'ingestor'])('machmon-%s.service runs `machmon %s` with the server config, after what it needs', (cmd) => {
    const text = readFileSync(path.join(REPO, `deploy/systemd/machmon-${cmd}.service`), 'utf8');
    const exec = text.split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length).split(' ');
    expect(exec.slice(0, 2)).toEqual(['/usr/bin/node', '/opt/machmon/server/bin/machmon.js']);
    const args = parseCliArgs(exec.slice(2));
    expect(args).toEqual({ command: cmd, config: '/etc/machmon/server.json', help: false });
    expect(text.split('\n')).toContain('WorkingDirectory=/var/lib/machmon');
    if (cmd === 'ingestor') expect(text).toMatch(/^After=.*machmon-broker\.service.*influxdb\.service/m);
    // Its /metrics, /healthz, /readyz are on, and the unit is started once the service answers
    // (README "Self-metrics"): the broker when /readyz says it listens, the ingestor when it serves at all.
    expect(text.split('\n')).toContain(`Environment=MACHMON_${cmd.toUpperCase()}_METRICS_ENABLED=true`);
    // The port the check asks is the one the service listens on: both from the unit's environment.
    expect(text.split('\n')).toContain(`Environment=MACHMON_${cmd.toUpperCase()}_METRICS_PORT=${cmd === 'broker' ? BROKER_METRICS_PORT : INGESTOR_METRICS_PORT}`);
    const post = text.split('\n').find((l) => l.startsWith('ExecStartPost='))!.slice('ExecStartPost='.length).split(' ');
    expect(post).toEqual(['/usr/bin/node', '/opt/machmon/server/deploy/docker/healthcheck.mjs', ...(cmd === 'ingestor' ? ['--alive'] : []), '--wait', '60', cmd]);
    expect(existsSync(path.join(REPO, post[1]!.replace('/opt/machmon/server/', '')))).toBe(true);
  });

  it('the cloud-init example is valid cloud-config that installs nodejs and runs install.sh from the tarball', () => {
    const text = readFileSync(path.join(REPO, 'deploy/pi/cloud-init/user-data'), 'utf8');
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = parseYaml(text) as { packages: string[]; write_files: { path: string; permissions: string }[]; runcmd: string[][] };
    expect(doc.packages).toContain('nodejs');
    expect(doc.write_files[0]!.permissions).toBe('0600');
    const run = doc.runcmd.map((c) => c.join(' ')).join('\n');
    expect(run).toContain('machmon-agent-*.tar.gz');
    expect(run).toContain('install.sh');
    // The install command itself is valid sh.
    for (const c of doc.runcmd) expect(spawnSync('sh', ['-n', '-c', c[2]!]).status).toBe(0);
    // The last command takes the password out of the boot partition's copy.
    const copy = path.join(tempDir('machmon-userdata-'), 'user-data');
    writeFileSync(copy, text);
    expect(spawnSync('sh', ['-c', doc.runcmd.at(-1)![2]!.replaceAll('/boot/firmware/user-data', copy)]).status).toBe(0);
    const after = readFileSync(copy, 'utf8');
    expect(after).not.toContain('change-me');
    expect((parseYaml(after) as typeof doc).write_files[0]).toBeDefined();
  });

  it.runIf(hasAnalyze).each(units)('systemd-analyze verify %s: no error, no warning', (name) => {
    const r = spawnSync('systemd-analyze', ['verify', path.join(REPO, 'deploy/systemd', name)], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => l.includes(name))).toEqual([]);
    expect(r.status).toBe(0);
  });
});
