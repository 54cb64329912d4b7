// What a newcomer does: `npm start` runs `machmon up` in a fresh checkout (no config yet),
// reads the fleet and reader passwords and the mosquitto_sub line it prints (the reader's),
// and watches the fleet.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { METRICS } from '../../../common/schema.js';
import { MACHMON } from '../../../testkit/repo.js';
import { influxRows } from '../../../testkit/influxd.js';
import { BROKER_METRICS_PORT } from '../../../broker/config.js';
import { freePort } from '../../../testkit/ports.js';
import { sampleValue, scrape } from '../../../testkit/prometheus.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const procs: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startUp(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [MACHMON, 'up'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  const out = { text: '' };
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.text += d.toString()));
  return { child, out };
}

describe('machmon up (npm start) on a fresh checkout', () => {
  it('creates the config with a fleet password, prints how to watch, and stores every metric group within one interval', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-'));
    dirs.push(cwd);
    const port = await freePort();
    const db = `t_up_${process.pid}`;
    const { child, out } = startUp(cwd, {
      MACHMON_BROKER_PORT: String(port),
      MACHMON_BROKER_HOST: '127.0.0.1',
      MACHMON_INGESTOR_INFLUX_URL: influxUrl,
      MACHMON_INGESTOR_INFLUX_DATABASE: db,
      MACHMON_AGENT_INTERVAL_MS: '2000',
      MACHMON_LOG_LEVEL: 'info',
    });

    const configFile = path.join(cwd, 'data/machmon.json');
    const password = await waitFor('the printed fleet password', () => out.text.match(/The fleet password[^\n]*\n\n\s+(\S+)\n/)?.[1], 30_000);
    const readerPassword = await waitFor('the printed reader password', () => out.text.match(/The reader password[^\n]*\n\n\s+(\S+)\n/)?.[1], 30_000);
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { broker: { secretPassword: string; readerPassword: string } };
    expect(saved.broker.secretPassword).toBe(password);
    expect(saved.broker.readerPassword).toBe(readerPassword);
    expect(readerPassword).not.toBe(password);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const watch = out.text.match(/^\s+(mosquitto_sub .*)$/m)?.[1];
    expect(watch).toContain(`-P '${readerPassword}'`);
    expect(watch).toContain(`-p ${port}`);

    // Every group this machine can report arrives within one interval of the slowest group
    // (the first tick runs at start). Logs needs a system log; PiHealth needs a Pi; fan and
    // cpuFreq need a hwmon fan and cpufreq, which this VM has not.
    const host = os.hostname();
    const absentHere = new Set(['logs', 'piHealth', 'fan', 'cpuFreq']);
    const expected = [...METRICS.values()].filter((m) => !absentHere.has(m.name));
    await waitFor('every metric group in InfluxDB', async () => {
        const found = await Promise.all(expected.map(async (m) => (await influxRows(influxUrl, db, `SELECT * FROM "Monthly"."${m.measurement}" WHERE hostname = '${host}' LIMIT 1`).catch(() => [])).length > 0));
        return found.every(Boolean) || undefined;
      }, 40_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n--- machmon up output ---\n${out.text.slice(-4000)}`);
    });

    // The printed line, as the user runs it, piped into `machmon decode`.
    const sub = spawn('sh', ['-c', watch!.replace(' | ', ' -C 3 | ')], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(sub);
    let decoded = '';
    sub.stdout!.on('data', (d: Buffer) => (decoded += d.toString()));
    await waitFor('three decoded messages', () => (decoded.trim().split('\n').length >= 3 ? true : undefined), 20_000);
    const lines = decoded.trim().split('\n').map((l) => JSON.parse(l) as { host: string; metric?: string; kind?: string; message?: { header: { hostname: string; seq: number } } });
    // Besides this host's messages the watch line shows the broker's own figures (machmon/$broker/stats, every 10 s).
    expect(lines.filter((l) => l.kind !== 'brokerStats').every((l) => l.host === host)).toBe(true);
    const readings = lines.filter((l) => l.metric);
    for (const r of readings) expect(r.message!.header.hostname).toBe(host);

    // SIGHUP re-reads the config: revoking this machine drops its own agent at once.
    const edited = JSON.parse(readFileSync(configFile, 'utf8')) as { broker: Record<string, unknown> };
    writeFileSync(configFile, JSON.stringify({ ...edited, broker: { ...edited.broker, revokedHosts: [host] } }));
    child.kill('SIGHUP');
    await waitFor('the local agent dropped on reload', () => (out.text.split('\n').some((l) => l.includes('"client dropped on reload"') && l.includes(`"username":"${host}"`) && l.includes('"reason":"host_revoked"')) ? true : undefined), 10_000);
    writeFileSync(configFile, JSON.stringify(edited));

    // A second start finds the config and prints no password.
    child.kill('SIGTERM');
    await waitFor('machmon up to exit', () => (child.exitCode !== null ? true : undefined), 15_000);
    expect(child.exitCode).toBe(0);
    const again = startUp(cwd, { MACHMON_BROKER_PORT: String(port), MACHMON_INGESTOR_INFLUX_URL: influxUrl, MACHMON_INGESTOR_INFLUX_DATABASE: db });
    await waitFor('the second start to connect', () => (/collectors started/.test(again.out.text) ? true : undefined), 20_000);
    expect(again.out.text).not.toContain(password);
    expect(again.out.text).not.toContain(readerPassword);
    again.child.kill('SIGTERM');
  }, 120_000);

  it('without InfluxDB it says exactly that and how to start one, and keeps the readings waiting', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-'));
    dirs.push(cwd);
    const port = await freePort();
    const closed = await freePort();
    const { child, out } = startUp(cwd, { MACHMON_BROKER_PORT: String(port), MACHMON_INGESTOR_INFLUX_URL: `http://127.0.0.1:${closed}`, MACHMON_AGENT_INTERVAL_MS: '1000' });
    await waitFor('the InfluxDB warning', () => (/InfluxDB unreachable at http:\/\/127\.0\.0\.1:\d+/.test(out.text) ? true : undefined), 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${out.text.slice(-3000)}`);
    });
    expect(out.text).toContain('influxd');
    expect(out.text).toMatch(/\d+ messages waiting/);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    await waitFor('exit', () => (child.exitCode !== null ? true : undefined), 15_000);
    expect(existsSync(path.join(cwd, 'data/agent'))).toBe(true);
  }, 60_000);

  it('serves the broker\'s and the ingestor\'s /metrics, /healthz and /readyz; a default port already taken gives way to a free one', async () => {
    // Hold the broker's default port (or find it held already: a second up, another test).
    const holder = net.createServer();
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve());
      holder.listen(BROKER_METRICS_PORT, '127.0.0.1', () => resolve());
    });
    try {
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-'));
      dirs.push(cwd);
      const db = `t_up_metrics_${process.pid}`;
      const { child, out } = startUp(cwd, { MACHMON_BROKER_PORT: String(await freePort()), MACHMON_INGESTOR_INFLUX_URL: influxUrl, MACHMON_INGESTOR_INFLUX_DATABASE: db, MACHMON_AGENT_INTERVAL_MS: '1000' });
      const urls = await waitFor('both self-metrics servers', () => {
        const found = out.text.split('\n').filter((l) => l.includes('"serving self-metrics"')).map((l) => (JSON.parse(l) as { url: string; component: string }));
        return found.length === 2 ? found : undefined;
      }, 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}\n${out.text.slice(-3000)}`);
      });
      expect(out.text).toContain(`broker.metrics: port ${BROKER_METRICS_PORT} is in use; serving /metrics on a free port instead`);
      const broker = new URL(urls.find((u) => u.component === 'broker')!.url);
      const ingestor = new URL(urls.find((u) => u.component === 'ingestor')!.url);
      expect(broker.hostname).toBe('127.0.0.1');
      expect(Number(broker.port)).not.toBe(BROKER_METRICS_PORT);
      for (const u of [broker, ingestor]) {
        expect((await fetch(new URL('/healthz', u))).status).toBe(200);
        await waitFor(`${u.origin}/readyz`, async () => ((await fetch(new URL('/readyz', u))).status === 200 ? true : undefined), 20_000);
      }
      // up's own agent is connected to up's broker, and its readings reach InfluxDB through up's ingestor.
      await waitFor('the local agent counted', async () => sampleValue((await scrape(broker.origin)).families, 'machmon_broker_connections', { state: 'agent' }) === 1 || undefined, 20_000);
      await waitFor('readings written', async () => (sampleValue((await scrape(ingestor.origin)).families, 'machmon_ingestor_points_written_total') ?? 0) > 0 || undefined, 20_000);
      child.kill('SIGTERM');
      await waitFor('exit', () => (child.exitCode !== null ? true : undefined), 15_000);
      expect(child.exitCode).toBe(0);
    } finally {
      holder.close();
    }
  }, 90_000);
});
