// `npm start` on a machine with Debian's influxdb installed but not running: `machmon up`
// (default config, fresh cwd) runs its own influxd, stores every group in it, stops it on
// exit and finds its data again; an InfluxDB already answering is used and none started;
// something else on the port is named and never written to. Ports are random
// (MACHMON_INFLUXD_PORT), never 8086.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { METRICS } from '../../../common/schema.js';
import { influxRows } from '../../../testkit/influxd.js';
import { freePort } from '../../../testkit/ports.js';
import { exited } from '../../../testkit/processes.js';
import { MACHMON } from '../../../testkit/repo.js';
import { waitFor } from '../../../testkit/wait.js';

const sharedInflux = inject('influxUrl');
const procs: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of dirs) {
    for (const pid of processesMentioning(d)) process.kill(pid, 'SIGKILL');
    rmSync(d, { recursive: true, force: true });
  }
});

/** Processes whose command line contains `text` (a temp dir: influxd's -config path holds it). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

function startUp(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [MACHMON, 'up'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, MACHMON_BROKER_HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  const out = { text: '' };
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.text += d.toString()));
  const said = (what: string | RegExp, timeoutMs = 60_000) =>
    waitFor(`machmon up to say ${what}`, () => (typeof what === 'string' ? out.text.includes(what) : what.test(out.text)), timeoutMs, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n--- machmon up output ---\n${out.text.slice(-4000)}`);
    });
  return { child, out, said };
}

const freshCwd = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'machmon-own-influx-'));
  dirs.push(d);
  return d;
};

/** Every group this machine reports (logs needs a system log, piHealth a Pi, fan and cpuFreq hardware this VM lacks) has a point from this host. */
async function everyGroupStored(url: string, db: string, out: { text: string }) {
  const host = os.hostname();
  const absentHere = new Set(['logs', 'piHealth', 'fan', 'cpuFreq']);
  const expected = [...METRICS.values()].filter((m) => !absentHere.has(m.name));
  let missing: string[] = [];
  await waitFor(
    'every metric group in InfluxDB',
    async () => {
      const found = await Promise.all(expected.map(async (m) => (await influxRows(url, db, `SELECT * FROM "Monthly"."${m.measurement}" WHERE hostname = '${host}' LIMIT 1`).catch(() => [])).length > 0));
      missing = expected.filter((_, i) => !found[i]).map((m) => m.measurement);
      return missing.length === 0;
    },
    // One interval plus the start of everything, on two shared cores (as e2e/up.test.ts).
    40_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: missing ${missing.join(', ')}\n--- machmon up output ---\n${out.text.slice(-4000)}`);
  });
}

describe('machmon up brings its own InfluxDB', () => {
  it('starts influxd on loopback under ./data, stores every group within one interval, leaves no process behind and reuses the data', async () => {
    const cwd = freshCwd();
    const influxPort = await freePort();
    const env = { MACHMON_BROKER_PORT: String(await freePort()), MACHMON_INFLUXD_PORT: String(influxPort), MACHMON_AGENT_INTERVAL_MS: '3000' };
    const url = `http://127.0.0.1:${influxPort}`;

    const first = startUp(cwd, env);
    await first.said('started its own InfluxDB');
    const running = processesMentioning(cwd);
    expect(running, 'one influxd, run on the config under ./data/influxdb').toHaveLength(1);
    expect(readFileSync(`/proc/${running[0]}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['run', '-config', path.join(cwd, 'data/influxdb/influxdb.conf')]));
    // Go's collector at GOGC=200 (cli/influxd.ts influxdEnv, README "Scaling"), as the environment of up had none.
    expect(readFileSync(`/proc/${running[0]}/environ`, 'utf8').split('\0')).toContain('GOGC=200');
    const conf = readFileSync(path.join(cwd, 'data/influxdb/influxdb.conf'), 'utf8');
    expect(conf).toContain(`bind-address = "127.0.0.1:${influxPort}"`);
    expect(conf).not.toMatch(/bind-address = "(0\.0\.0\.0)?:/);
    // Every group within one interval of the first sample (3 s; process, logs and latency every 30 s, sampled at start).
    await everyGroupStored(url, 'metrics', first.out);
    expect(existsSync(path.join(cwd, 'data/influxdb/data/metrics'))).toBe(true);
    expect(readFileSync(path.join(cwd, 'data/influxd.log'), 'utf8')).toContain('Listening on HTTP');

    const firstPoint = `SELECT first("userPercentage") FROM "Monthly"."Cpu"`;
    const [before] = await influxRows(url, 'metrics', firstPoint);
    expect(before!.time).toEqual(expect.any(Number));
    first.child.kill('SIGTERM');
    expect(await exited(first.child, 20_000)).toBe(0);
    expect(processesMentioning(cwd), 'no influxd left once up stopped').toEqual([]);
    expect(await fetch(`${url}/ping`).then(() => 'answers', () => 'closed')).toBe('closed');

    // The second start finds the same data.
    const second = startUp(cwd, env);
    await second.said('started its own InfluxDB');
    expect(await influxRows(url, 'metrics', firstPoint), 'the first run\'s first point is still there').toEqual([before]);
    second.child.kill('SIGTERM');
    expect(await exited(second.child, 20_000).catch((err: Error) => `${err.message}\n${second.out.text.slice(-3000)}`)).toBe(0);
    expect(processesMentioning(cwd)).toEqual([]);
  }, 150_000);

  it('restarts its influxd when it crashes, and stops one a killed up left behind before starting its own', async () => {
    const cwd = freshCwd();
    const influxPort = await freePort();
    const env = { MACHMON_BROKER_PORT: String(await freePort()), MACHMON_INFLUXD_PORT: String(influxPort), MACHMON_AGENT_INTERVAL_MS: '1000' };
    const url = `http://127.0.0.1:${influxPort}`;
    const first = startUp(cwd, env);
    await first.said('collectors started');
    const [crashed] = processesMentioning(cwd);
    process.kill(crashed!, 'SIGKILL');
    await first.said('influxd running again', 30_000);
    const [restarted] = processesMentioning(cwd);
    expect(restarted).not.toBe(crashed);
    // Readings taken after the crash are stored.
    const afterCrash = Date.now();
    await waitFor('a Cpu point after the restart', async () => (await influxRows(url, 'metrics', `SELECT * FROM "Monthly"."Cpu" WHERE time > ${afterCrash}ms`).catch(() => [])).length > 0, 30_000, 250);

    // up killed outright: its influxd (own process group) survives; the next up stops it first.
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(processesMentioning(cwd)).toEqual([restarted]);
    const second = startUp(cwd, env);
    await second.said('started its own InfluxDB');
    expect(second.out.text).toContain('stopping the influxd a previous machmon up left running');
    const now = processesMentioning(cwd);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(restarted);
    second.child.kill('SIGTERM');
    expect(await exited(second.child, 20_000)).toBe(0);
    expect(processesMentioning(cwd)).toEqual([]);
  }, 120_000);

  it('uses an InfluxDB that already answers at the address and starts none', async () => {
    const cwd = freshCwd();
    const db = `t_own_${process.pid}`;
    const { child, out, said } = startUp(cwd, {
      MACHMON_BROKER_PORT: String(await freePort()),
      MACHMON_INFLUXD_PORT: new URL(sharedInflux).port,
      MACHMON_INGESTOR_INFLUX_DATABASE: db,
      MACHMON_AGENT_INTERVAL_MS: '3000',
    });
    await said('using the InfluxDB already running');
    await everyGroupStored(sharedInflux, db, out);
    expect(out.text).not.toContain('started its own InfluxDB');
    expect(existsSync(path.join(cwd, 'data/influxdb'))).toBe(false);
    expect(processesMentioning(cwd)).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited(child, 20_000)).toBe(0);
  }, 90_000);

  it('names a server on the port that is not InfluxDB, writes nothing there and exits 1', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'text/html', server: 'not-influx/1.0' }).end('<h1>hello</h1>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const cwd = freshCwd();
      const { child, out } = startUp(cwd, { MACHMON_BROKER_PORT: String(await freePort()), MACHMON_INFLUXD_PORT: String(port), MACHMON_AGENT_INTERVAL_MS: '1000' });
      expect(await exited(child, 30_000)).toBe(1);
      expect(out.text).toContain(`http://127.0.0.1:${port} answers, but it is not InfluxDB`);
      expect(out.text).toContain('not-influx/1.0');
      expect(out.text).toContain('INFLUXD_FAILED');
      expect(requests).toEqual(['GET /ping']);
      expect(processesMentioning(cwd)).toEqual([]);
    } finally {
      server.close();
    }
  }, 60_000);
});
