// The Pi bundle end to end on Debian bookworm's own Node 18: a real broker and ingestor (the
// machmon CLI on this machine's Node) and a real influxd; the bundle runs from a folder with no
// node_modules (so the optional native onoff is absent although a GPIO sensor is configured),
// and its readings must be stored, tagged with its hostname.
import { type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { MACHMON, REPO } from '../helpers/cli.js';
import { influxQuery, influxRows } from '../helpers/influxd.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { buildAgent } from './build.js';
import { debianNode18, type DebianNode } from './debian-node18.js';

const HOST = 'pi-node18';
const PASSWORD = 'node18-fleet-password';
const db = `t_deploy_n18_${process.pid}`;
const children: ChildProcess[] = [];
const logs = new Map<ChildProcess, string>();

function track(child: ChildProcess) {
  children.push(child);
  logs.set(child, '');
  const add = (d: Buffer) => logs.set(child, (logs.get(child)! + d.toString()).slice(-20_000));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return child;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms:\n${logs.get(child)}`)), timeoutMs);
    child.once('exit', (code) => { clearTimeout(t); resolve(code); });
  });
}

let node: DebianNode;
let dir: string;
let port: number;
let influxUrl: string;

beforeAll(async () => {
  node = debianNode18(); // fails with the reason (never skips) when apt-get download is impossible
  const build = buildAgent();
  dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-n18-'));
  copyFileSync(build.bundle, path.join(dir, 'machmon-agent.js'));
  port = await freePort();
  influxUrl = inject('influxUrl');
  const server = path.join(dir, 'server.json');
  writeFileSync(
    server,
    JSON.stringify({
      broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, allowedHosts: ['pi-*'], dataDir: path.join(dir, 'broker') },
      ingestor: { brokerUrl: `mqtt://127.0.0.1:${port}`, password: PASSWORD, influx: { url: influxUrl, database: db }, flushIntervalMs: 200, dataDir: path.join(dir, 'ingestor') },
      log: { level: 'warn' },
    }),
  );
  for (const cmd of ['broker', 'ingestor']) {
    track(spawn(process.execPath, [MACHMON, cmd, '--config', server], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
    if (cmd === 'broker') await waitForPort(port);
  }
}, 240_000);

afterAll(async () => {
  for (const c of children.reverse()) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await exited(c, 10_000).catch(() => c.kill('SIGKILL'));
    }
  }
});

describe("agent bundle on Debian's Node 18 against a real broker and ingestor", () => {
  it('publishes readings that the ingestor stores, without onoff, and stops cleanly on SIGTERM', async () => {
    const config = path.join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        agent: {
          brokerUrl: `mqtt://127.0.0.1:${port}`,
          hostname: HOST,
          password: PASSWORD,
          intervalMs: 1000,
          dataDir: path.join(dir, 'agent-data'),
          // A GPIO sensor is configured, but onoff cannot load here: the agent must still run.
          temperature: { sources: ['gpio', 'mock'], gpio: { pin: 17 } },
          latency: { target: '127.0.0.1' },
        },
        log: { level: 'info' },
      }),
    );
    const agent = track(node.spawn([path.join(dir, 'machmon-agent.js'), '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));

    const wanted = ['CpusNumber', 'Mem', 'Temperature'];
    const deadline = Date.now() + 45_000;
    let measurements: string[] = [];
    while (Date.now() < deadline && agent.exitCode === null) {
      const res = await influxQuery(influxUrl, db, 'SHOW MEASUREMENTS').catch(() => ({ series: undefined }));
      measurements = (res.series?.[0]?.values ?? []).map((v) => String(v[0]));
      if (wanted.every((m) => measurements.includes(m))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const context = `agent log:\n${logs.get(agent)}\nbroker/ingestor log:\n${children.slice(0, 2).map((c) => logs.get(c)).join('\n')}`;
    expect(agent.exitCode, context).toBe(null);
    expect(measurements, context).toEqual(expect.arrayContaining(wanted));

    // Every stored reading carries the Pi's hostname; the agent said it runs on Node 18.
    const mem = await influxRows(influxUrl, db, `SELECT * FROM "Mem" WHERE "hostname" = '${HOST}'`);
    expect(mem.length).toBeGreaterThan(0);
    expect(Number(mem[0]!.totalMem)).toBeGreaterThan(0);
    const temps = await influxRows(influxUrl, db, `SELECT * FROM "Temperature" WHERE "hostname" = '${HOST}'`);
    expect(temps.length).toBeGreaterThan(0);
    const started = (logs.get(agent) ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'machmon-agent bundle running');
    expect(started?.node, context).toMatch(/^v18\./);

    agent.kill('SIGTERM');
    expect(await exited(agent, 15_000)).toBe(0);
  }, 90_000);
});
