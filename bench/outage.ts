// `npm run bench -- outage`: 100 simulated agents (the real agent runtime in worker
// processes, collectors returning recorded readings) against `machmon broker` and
// `machmon ingestor` (their own processes) and a private influxd. After a warm-up the
// broker is killed (SIGKILL, as in a crash or power loss) and started again `downSeconds`
// later on the same port and dataDir, while the agents keep sampling into their outboxes.
// Reported: how long until every agent was connected again (their reconnect backoff grows
// to agent.reconnect.maxMs, 60 s by default), how long until every reading sampled during
// the outage was confirmed stored ("outboxes drained"), the peak rates of the replay
// (readings sent again per second, readings confirmed per second), and that nothing was
// lost: after sampling stops and the outboxes are empty, InfluxDB holds exactly the points
// of every reading each agent sampled (per host and measurement).
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricSpec } from '../common/schema.js';
import { influxQuery, startInfluxd } from '../testkit/influxd.js';
import type { OutageProgress, OutageResult, OutageWorkerConfig } from './outage-worker.js';
import { FLEET_METRICS, loadProfiles } from './record-payloads.js';
import { DIST_BENCH } from './repo.js';
import { startMachmonBroker, startMachmonIngestor, type Server } from './servers.js';

export interface OutageOptions {
  agents: number;
  workers: number;
  /** Every group's sampling interval. */
  intervalMs: number;
  warmupSeconds: number;
  /** How long the broker stays down. */
  downSeconds: number;
  /** agent.outbox.replayPerSecond of every agent. */
  replayPerSecond: number;
  /** Give up waiting for the outboxes to drain after this long. */
  drainTimeoutSeconds: number;
}

export const OUTAGE_DEFAULTS: OutageOptions = { agents: 100, workers: 2, intervalMs: 10_000, warmupSeconds: 20, downSeconds: 120, replayPerSecond: 50, drainTimeoutSeconds: 300 };

const PASSWORD = 'bench-outage-secret';
/** broker.readerPassword: the ingestor's own, never the fleet password. */
const READER_PASSWORD = 'bench-outage-reader-secret';
const DB = 'outage';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Worker {
  proc: ChildProcess;
  last?: OutageProgress;
  result?: OutageResult;
  waiters: Map<string, () => void>;
}

function forkWorker(logFile: string): Worker {
  const fd = fs.openSync(logFile, 'a');
  const proc = fork(path.join(DIST_BENCH, 'outage-worker.js'), [], { stdio: ['ignore', fd, fd, 'ipc'] });
  fs.closeSync(fd);
  const w: Worker = { proc, waiters: new Map() };
  proc.on('message', (m: { type: string }) => {
    if (m.type === 'progress') w.last = m as OutageProgress;
    if (m.type === 'result') w.result = m as OutageResult;
    const waiter = w.waiters.get(m.type);
    w.waiters.delete(m.type);
    waiter?.();
  });
  return w;
}

function waitFor(w: Worker, type: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`outage worker: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    w.waiters.set(type, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

interface Totals { sampled: number; held: number; oldestHeldMs: number | null; replayed: number; resent: number; dropped: number; connected: number; confirmed: number }

function totals(workers: Worker[]): Totals {
  const t: Totals = { sampled: 0, held: 0, oldestHeldMs: null, replayed: 0, resent: 0, dropped: 0, connected: 0, confirmed: 0 };
  for (const w of workers) {
    const p = w.last;
    if (!p) continue;
    t.sampled += p.sampled;
    t.held += p.held;
    t.replayed += p.replayed;
    t.resent += p.resent;
    t.dropped += p.dropped;
    t.connected += p.connected;
    if (p.oldestHeldMs !== null) t.oldestHeldMs = Math.min(t.oldestHeldMs ?? Infinity, p.oldestHeldMs);
  }
  t.confirmed = t.sampled - t.held - t.dropped;
  return t;
}

/** Rows stored per host of one measurement: the largest count over its fields. */
async function storedRows(url: string, measurement: string): Promise<Map<string, number>> {
  const res = await influxQuery(url, DB, `SELECT count(*) FROM "${measurement}" GROUP BY "hostname"`);
  const out = new Map<string, number>();
  for (const s of res.series ?? []) out.set(s.tags?.hostname ?? '', Math.max(0, ...s.values[0]!.slice(1).map((v) => Number(v ?? 0))));
  return out;
}

export interface OutageSummary {
  line: string;
  ok: boolean;
}

export async function benchOutage(o: OutageOptions): Promise<OutageSummary> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-outage-'));
  const cleanups: (() => Promise<void> | void)[] = [];
  const workers: Worker[] = [];
  try {
    const perSecond = (o.agents * FLEET_METRICS.length * 1000) / o.intervalMs;
    console.log(`outage: ${o.agents} agents x ${FLEET_METRICS.length} groups every ${s1(o.intervalMs)} (${perSecond.toFixed(0)} readings/s), broker killed after ${o.warmupSeconds} s and down for ${o.downSeconds} s; replay at most ${o.replayPerSecond}/s per agent; work dir ${dir}`);
    const influxd = await startInfluxd();
    cleanups.push(() => influxd.destroy());
    const brokerSection = { secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['outage-*'], readers: ['ingestor'] };
    let broker: Server = await startMachmonBroker(dir, brokerSection);
    cleanups.unshift(() => broker.stop());
    const brokerUrl = `mqtt://127.0.0.1:${broker.port}`;
    const ingestor = await startMachmonIngestor(dir, { brokerUrl, password: READER_PASSWORD, influx: { url: influxd.url, database: DB } });
    cleanups.unshift(() => ingestor.stop());

    const hosts = Array.from({ length: o.agents }, (_, i) => `outage-${String(i + 1).padStart(4, '0')}`);
    for (let k = 0; k < o.workers; k++) {
      const w = forkWorker(path.join(dir, `agents-${k}.log`));
      workers.push(w);
      cleanups.unshift(() => {
        if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
      });
      const config: OutageWorkerConfig = {
        brokerUrl,
        password: PASSWORD,
        hostnames: hosts.filter((_, i) => i % o.workers === k),
        dataDir: path.join(dir, 'agents'),
        intervalMs: o.intervalMs,
        replayPerSecond: o.replayPerSecond,
        spreadMs: o.intervalMs,
      };
      const started = waitFor(w, 'started', 120_000);
      w.proc.send({ type: 'start', config });
      await started;
    }
    await sleep(o.warmupSeconds * 1000);

    const before = totals(workers);
    console.log(`  warm-up: ${before.connected}/${o.agents} agents connected, ${before.sampled} readings sampled, ${before.held} held`);
    const downAt = Date.now();
    await broker.signal('SIGKILL');
    let peakHeld = 0;
    while (Date.now() - downAt < o.downSeconds * 1000) {
      await sleep(1000);
      peakHeld = Math.max(peakHeld, totals(workers).held);
    }
    broker = await startMachmonBroker(dir, { ...brokerSection, port: broker.port });
    const upAt = Date.now();
    const atUp = totals(workers);
    console.log(`  broker back after ${s1(upAt - downAt)}: ${atUp.held} readings held in the outboxes (peak ${Math.max(peakHeld, atUp.held)}), oldest sampled ${s1(upAt - (atUp.oldestHeldMs ?? upAt))} ago`);

    // Drain: until nothing sampled before the restart is held any more.
    let prev = atUp;
    let prevAt = upAt;
    let peakReplay = 0;
    let peakConfirm = 0;
    let allConnectedAt: number | undefined;
    let drainedAt: number | undefined;
    while (Date.now() - upAt < o.drainTimeoutSeconds * 1000) {
      await sleep(1000);
      const now = Date.now();
      const t = totals(workers);
      const dt = (now - prevAt) / 1000;
      peakReplay = Math.max(peakReplay, (t.replayed - prev.replayed) / dt);
      peakConfirm = Math.max(peakConfirm, (t.confirmed - prev.confirmed) / dt);
      prev = t;
      prevAt = now;
      if (allConnectedAt === undefined && t.connected === o.agents) allConnectedAt = now;
      if (t.oldestHeldMs === null || t.oldestHeldMs >= upAt) {
        drainedAt = now;
        break;
      }
    }
    const drainMs = drainedAt === undefined ? undefined : drainedAt - upAt;
    const afterLast = drainedAt !== undefined && allConnectedAt !== undefined ? ` (${s1(drainedAt - allConnectedAt)} after the last agent was back)` : '';
    const resent = prev.resent - atUp.resent;
    console.log(
      `  after the restart: all ${o.agents} agents connected after ${allConnectedAt ? s1(allConnectedAt - upAt) : 'n/a'} (their reconnect backoff grows to 60 s); ` +
        `outboxes drained after ${drainMs === undefined ? `more than ${o.drainTimeoutSeconds} s (gave up)` : s1(drainMs)}${afterLast}; ` +
        `peak replay ${peakReplay.toFixed(0)} readings/s sent, peak ${peakConfirm.toFixed(0)} readings/s confirmed stored (normal load ${perSecond.toFixed(0)}/s); ` +
        `${resent} sent again for want of a confirmation`,
    );

    // Stop sampling, let the last readings through, stop the agents, count.
    for (const w of workers) w.proc.send({ type: 'freeze' });
    const emptyBy = Date.now() + 120_000;
    await sleep(2000);
    while (Date.now() < emptyBy && totals(workers).held > 0) await sleep(1000);
    for (const w of workers) {
      const done = waitFor(w, 'result', 60_000);
      w.proc.send({ type: 'finish' });
      await done;
    }
    await sleep(2000); // the ingestor's last batch

    const profile = loadProfiles().find((p) => p.profile === 'pi4') ?? loadProfiles()[0]!;
    let sampled = 0;
    let lost = 0;
    let duplicates = 0;
    let expectedPoints = 0;
    const problems: string[] = [];
    for (const metric of FLEET_METRICS) {
      const rowsPerReading = (profile.readings[metric] as { rows?: unknown[] }).rows?.length ?? 1;
      const stored = await storedRows(influxd.url, metricSpec(metric).measurement);
      for (const host of hosts) {
        const n = workers.reduce((sum, w) => sum + (w.result?.sampled[host]?.[metric] ?? 0), 0);
        sampled += n;
        expectedPoints += n * rowsPerReading;
        const got = stored.get(host) ?? 0;
        const diff = got - n * rowsPerReading;
        if (diff < 0) lost += Math.ceil(-diff / rowsPerReading);
        if (diff > 0) duplicates += Math.ceil(diff / rowsPerReading);
        if (diff !== 0 && problems.length < 10) problems.push(`${host} ${metric}: ${n} readings sampled (${n * rowsPerReading} points), ${got} points stored`);
      }
    }
    const end = totals(workers);
    console.log(`  at the end: ${sampled} readings sampled (${expectedPoints} points), ${end.held} still held, ${end.dropped} dropped by full outboxes; lost ${lost}, duplicates ${duplicates}`);
    for (const p of problems) console.log(`    ${p}`);
    const ok = drainMs !== undefined && lost === 0 && duplicates === 0 && end.dropped === 0;
    const line =
      `outage: ${o.agents} agents, broker down ${o.downSeconds} s, ${atUp.held} readings held -> reconnected in ${allConnectedAt ? s1(allConnectedAt - upAt) : 'n/a'}, ` +
      `drained in ${drainMs === undefined ? 'n/a' : s1(drainMs)}${afterLast}, peak replay ${peakReplay.toFixed(0)}/s (stored ${peakConfirm.toFixed(0)}/s), ` +
      `${sampled} sampled, lost ${lost}, duplicates ${duplicates} -> ${ok ? 'OK' : 'FAILED'}`;
    return { line, ok };
  } finally {
    for (const c of cleanups) await c();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
