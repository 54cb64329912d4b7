// A Pi's life from a flashed card, simulated on this machine without touching it: in a private
// mount namespace, /etc, /opt, /var/lib, /boot and /usr/bin are overlays whose changes land in a
// temp folder, and /usr/bin/node is Debian bookworm's Node 18. There install.sh runs for real
// (not --root) without a password, as when an image is prepared; then machmon.json is dropped on
// the boot partition and the installed unit's own command lines run as systemd would run them:
// ExecStartPre as root, ExecStart as User= in WorkingDirectory= (systemd's sandbox options are
// not applied: there is no systemd here). The readings must reach InfluxDB through a real broker
// and ingestor, and the boot partition must no longer hold the password. The broker takes host
// keys only (broker.auth "hostKeys"): the card holds this Pi's key, never the fleet password.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildAgent, type AgentBuild } from './build.js';
import { debianNode18, SHARE_OVERLAY, type DebianNode } from './debian-node18.js';
import { captureOutput, exited } from '../../../testkit/processes.js';
import { startServer, waitForMeasurements, type Server } from '../../../testkit/server.js';
import { removeTempDirs, tempDir } from './tmp.js';

const HOST = 'pi-firstboot';
let node: DebianNode;
let build: AgentBuild;
let dir: string;
let pkg: string;
let server: Server;

beforeAll(async () => {
  node = debianNode18();
  build = buildAgent();
  dir = tempDir('machmon-piboot-');
  expect(spawnSync('tar', ['-xzf', build.tarball, '-C', dir]).status).toBe(0);
  pkg = path.join(dir, `machmon-agent-${build.version}`);
  server = await startServer({ dir, influxUrl: inject('influxUrl'), db: `t_deploy_boot_${process.pid}`, allowedHosts: ['pi-*'], auth: 'hostKeys' });
}, 240_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

// $T: overlay upper/work dirs; $R: Debian node root; $W: node wrapper; $PKG: unpacked tarball; $BOOTCFG: the card's file.
const SCRIPT = `
set -e
for d in etc opt var/lib boot usr/bin; do
  mkdir -p "$T/upper/$d" "$T/work/$d"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/upper/$d,workdir=$T/work/$d" "/$d"
done
${SHARE_OVERLAY}
# No systemd manager here (a container may still have its folder): the installer must not call it.
if [ -d /run/systemd/system ]; then mount -t tmpfs tmpfs /run/systemd; fi
cp "$W" /usr/bin/node

# Preparing the image: no password, no config yet.
sh "$PKG/install.sh"
# Flashing the card: the settings on the boot partition.
mkdir -p /boot/firmware
cp "$BOOTCFG" /boot/firmware/machmon.json

# Booting: what systemd runs for machmon-agent.service.
unit=/etc/systemd/system/machmon-agent.service
[ -L /etc/systemd/system/multi-user.target.wants/machmon-agent.service ]
pre=$(sed -n 's/^ExecStartPre=+//p' "$unit")   # /bin/sh -c '...': eval undoes the quoting as systemd does
start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
cd "$(sed -n 's/^WorkingDirectory=//p' "$unit")"
eval "$pre"
echo "machmon-test: first boot done"
# An ordinary start (no boot file): the step does nothing and succeeds.
eval "$pre"
echo "machmon-test: second start step done"
exec setpriv --reuid="$user" --regid="$group" --init-groups $start
`;

describe('a flashed Pi at first boot (install.sh, boot-partition config, the unit run as systemd would)', () => {
  it('adopts the boot config with its host key, scrubs it, runs as the machmon user on Node 18 and gets its readings stored', async () => {
    const bootCfg = path.join(dir, 'machmon.json');
    writeFileSync(bootCfg, JSON.stringify({ brokerUrl: server.brokerUrl, password: server.hostKey(HOST), hostname: HOST, intervalMs: 1000, latency: { target: '127.0.0.1' } }));
    const T = path.join(dir, 'ns');
    const child = spawn('unshare', ['-m', 'sh', '-c', SCRIPT], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', T, R: node.root, W: node.wrapper, PKG: pkg, BOOTCFG: bootCfg },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = captureOutput(child);
    try {
      const seen = await waitForMeasurements(server, HOST, ['CpusNumber', 'Mem'], 60_000, () => child.exitCode === null);
      const context = `pi:\n${out()}\nserver:\n${server.logs()}`;
      expect(child.exitCode, context).toBe(null);
      expect(out()).toContain('installed machmon-agent');
      expect(out()).toContain('no config yet');
      expect(out()).toContain('machmon-test: first boot done');
      expect(out()).toContain('machmon-test: second start step done');
      expect(seen, context).toEqual(expect.arrayContaining(['CpusNumber', 'Mem']));

      // The agent (the namespace's last exec) runs as the machmon user, on Debian's Node 18.
      const passwd = readFileSync(path.join(T, 'upper/etc/passwd'), 'utf8');
      const uid = Number(passwd.split('\n').find((l) => l.startsWith('machmon:'))!.split(':')[2]);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
      expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toContain('/opt/machmon/machmon-agent.cjs');
      expect(context).toMatch(/"node":"v18\./);

      // The config moved off the card: in /etc/machmon, 600, the agent's; the card keeps only a notice.
      const cfg = path.join(T, 'upper/etc/machmon/agent.json');
      expect(statSync(cfg).mode & 0o777).toBe(0o600);
      expect(statSync(cfg).uid).toBe(uid);
      expect(JSON.parse(readFileSync(cfg, 'utf8')).agent.password).toBe(server.hostKey(HOST));
      expect(existsSync(path.join(T, 'upper/boot/firmware/machmon.json'))).toBe(false);
      const notice = readFileSync(path.join(T, 'upper/boot/firmware/machmon-applied.txt'), 'utf8');
      expect(notice).not.toContain(server.hostKey(HOST));
      // The outbox lives in the state directory, written by the agent's user.
      expect(statSync(path.join(T, 'upper/var/lib/machmon')).uid).toBe(uid);

      child.kill('SIGTERM');
      expect(await exited(child, 15_000)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
