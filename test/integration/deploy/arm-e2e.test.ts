// The Pi bundle on Debian bookworm's ARM builds of Node 18 — arm64 (64-bit Raspberry Pi OS) and
// armhf (32-bit, ARMv7) — emulated by qemu-user, against a real broker and ingestor: its
// readings must be stored. (The Pi Zero/1's ARMv6 needs Raspberry Pi OS's own archive, which is
// not reachable here.)
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildAgent } from './build.js';
import { debianNode18Arm, type ArmArch, type DebianNodeArm } from './debian-node18.js';
import { captureOutput, exited } from '../../../testkit/processes.js';
import { startServer, waitForMeasurements, type Server } from '../../../testkit/server.js';
import { removeTempDirs, tempDir } from './tmp.js';

afterAll(removeTempDirs);

describe.each<ArmArch>(['arm64', 'armhf'])("agent bundle on Debian's %s Node 18 under qemu-user", (arch) => {
  const HOST = `pi-${arch}`;
  let node: DebianNodeArm;
  let dir: string;
  let server: Server;

  beforeAll(async () => {
    node = debianNode18Arm(arch); // fails with the reason (never skips) when the packages cannot be fetched
    dir = tempDir(`machmon-${arch}-`);
    copyFileSync(buildAgent().bundle, path.join(dir, 'machmon-agent.cjs'));
    server = await startServer({ dir, influxUrl: inject('influxUrl'), db: `t_deploy_${arch}_${process.pid}`, allowedHosts: ['pi-*'] });
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('prints its version', () => {
    const r = node.run([path.join(dir, 'machmon-agent.cjs'), '--version'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(buildAgent().version);
  });

  it('publishes readings that the ingestor stores, and stops cleanly on SIGTERM', async () => {
    const config = path.join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        agent: { brokerUrl: server.brokerUrl, hostname: HOST, password: server.password, intervalMs: 1000, dataDir: path.join(dir, 'agent-data'), latency: { target: '127.0.0.1' } },
        log: { level: 'info' },
      }),
    );
    const agent = node.spawn([path.join(dir, 'machmon-agent.cjs'), '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const agentLog = captureOutput(agent);
    try {
      const wanted = ['CpusNumber', 'Mem', 'Temperature'];
      const seen = await waitForMeasurements(server, HOST, wanted, 60_000, () => agent.exitCode === null);
      const context = `agent log:\n${agentLog()}\nbroker/ingestor log:\n${server.logs()}`;
      expect(agent.exitCode, context).toBe(null);
      expect(seen, context).toEqual(expect.arrayContaining(wanted));
      expect(agentLog()).toContain(`"node":"v18.`);
      agent.kill('SIGTERM');
      expect(await exited(agent, 20_000)).toBe(0);
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
  }, 120_000);
});
