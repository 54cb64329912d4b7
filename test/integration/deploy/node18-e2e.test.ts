// The Pi bundle end to end on Debian bookworm's own Node 18: a real broker and ingestor (the
// machmon CLI on this machine's Node) and a real influxd; the bundle runs from a folder with no
// node_modules (so the optional native onoff is absent although a GPIO sensor is configured),
// and its readings must be stored, tagged with its hostname. Also over mqtts:// with a private
// CA (agent.caFile), run with the Node flags of the systemd unit.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO } from '../../../testkit/repo.js';
import { influxRows } from '../../../testkit/influxd.js';
import { buildAgent } from './build.js';
import { debianNode18, type DebianNode } from './debian-node18.js';
import { captureOutput, exited } from '../../../testkit/processes.js';
import { selfSignedCert, startServer, waitForMeasurements, type Server } from '../../../testkit/server.js';
import { removeTempDirs, tempDir } from './tmp.js';

const HOST = 'pi-node18';
let node: DebianNode;
let dir: string;
let server: Server;
let ca: string;

/** The options ExecStart gives node before the bundle (the footprint flags). */
function unitNodeFlags(): string[] {
  const unit = readFileSync(path.join(REPO, 'deploy/systemd/machmon-agent.service'), 'utf8');
  const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length).split(' ');
  return exec.slice(1, exec.indexOf('/opt/machmon/machmon-agent.cjs'));
}

beforeAll(async () => {
  node = debianNode18(); // fails with the reason (never skips) when apt-get download is impossible
  dir = tempDir('machmon-n18-');
  copyFileSync(buildAgent().bundle, path.join(dir, 'machmon-agent.cjs'));
  const tls = selfSignedCert(dir);
  ca = tls.cert;
  server = await startServer({ dir, influxUrl: inject('influxUrl'), db: `t_deploy_n18_${process.pid}`, allowedHosts: ['pi-*'], tls });
}, 240_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe("agent bundle on Debian's Node 18 against a real broker and ingestor", () => {
  it('publishes readings that the ingestor stores, without onoff, and stops cleanly on SIGTERM', async () => {
    const config = path.join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        agent: {
          brokerUrl: server.brokerUrl,
          hostname: HOST,
          password: server.password,
          intervalMs: 1000,
          dataDir: path.join(dir, 'agent-data'),
          // A GPIO sensor is configured, but onoff cannot load here: the agent must still run.
          temperature: { sources: ['gpio', 'mock'], gpio: { pin: 17 } },
          latency: { target: '127.0.0.1' },
        },
        log: { level: 'info' },
      }),
    );
    const agent = node.spawn([path.join(dir, 'machmon-agent.cjs'), '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const agentLog = captureOutput(agent);
    try {
      const wanted = ['CpusNumber', 'Mem', 'Temperature'];
      const seen = await waitForMeasurements(server, HOST, wanted, 45_000, () => agent.exitCode === null);
      const context = `agent log:\n${agentLog()}\nbroker/ingestor log:\n${server.logs()}`;
      expect(agent.exitCode, context).toBe(null);
      expect(seen, context).toEqual(expect.arrayContaining(wanted));

      const mem = await influxRows(server.influxUrl, server.db, `SELECT * FROM "Mem" WHERE "hostname" = '${HOST}'`);
      expect(Number(mem[0]!.totalMem)).toBeGreaterThan(0);
      // The agent said it runs on Node 18.
      const started = agentLog().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'machmon-agent bundle running');
      expect(started?.node, context).toMatch(/^v18\./);

      agent.kill('SIGTERM');
      expect(await exited(agent, 15_000)).toBe(0);
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
  }, 90_000);
});

describe("agent bundle on Debian's Node 18 over mqtts with a private CA, with the unit's Node flags", () => {
  it('publishes readings that the ingestor stores', async () => {
    const host = 'pi-node18-tls';
    const flags = unitNodeFlags();
    expect(flags.length).toBeGreaterThan(0);
    const config = path.join(dir, 'agent-tls.json');
    writeFileSync(
      config,
      JSON.stringify({
        agent: { brokerUrl: server.tlsUrl, caFile: ca, hostname: host, password: server.password, intervalMs: 1000, dataDir: path.join(dir, 'agent-tls-data'), latency: { target: '127.0.0.1' } },
        log: { level: 'info' },
      }),
    );
    const agent = node.spawn([...flags, path.join(dir, 'machmon-agent.cjs'), '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const agentLog = captureOutput(agent);
    try {
      const wanted = ['CpusNumber', 'Mem'];
      const seen = await waitForMeasurements(server, host, wanted, 45_000, () => agent.exitCode === null);
      const context = `node flags: ${flags.join(' ')}\nagent log:\n${agentLog()}\nbroker/ingestor log:\n${server.logs()}`;
      expect(agent.exitCode, context).toBe(null);
      expect(seen, context).toEqual(expect.arrayContaining(wanted));
      const lines = agentLog().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'connected to broker')?.url, context).toBe(server.tlsUrl);
      expect(agentLog(), context).toMatch(/"node":"v18\./);
      // The flags start Node 18 without a warning in the journal.
      expect(agentLog(), context).not.toMatch(/^Warning:/m);
      agent.kill('SIGTERM');
      expect(await exited(agent, 15_000)).toBe(0);
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
  }, 90_000);
});
