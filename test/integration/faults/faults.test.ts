// Fault injection (issue 4): real `machmon broker`, `machmon ingestor` and three
// `machmon agent` processes (distinct hostnames, 1 s intervals) on a private influxd, and
// one fault after the other:
//   kill -9 the ingestor, restart it 3 s later;
//   kill -9 the broker, restart it 3 s later (same port, same dataDir);
//   stop influxd for 20 s;
//   kill -9 one agent, restart it 5 s later;
//   cut the broker off for 60 s (SIGSTOP: connections stay open, nothing moves) while the
//   agents keep sampling.
// Then the agents are stopped and started once more with every group disabled, so they only
// send what their outboxes still hold. At the end every reading each agent sampled must be
// in InfluxDB exactly once. A dead agent samples nothing, so "except readings sampled while
// that agent was dead" leaves nothing out: the readings it took just before its kill -9 are
// in its outbox and must arrive too. The agents say what they sampled in a debug line per
// reading ("reading recorded": seq, metric, sample time); see ledger.ts for the matching.
// The totals (sampled, stored, duplicates, lost) are the last lines the test prints.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../agent/outbox/outbox.js';
import { silentLogger } from '../../../common/log.js';
import { METRIC_NAMES } from '../../../common/schema.js';
import { influxRows, startInfluxd, type Influxd } from '../../../testkit/influxd.js';
import { freePort } from '../../../testkit/ports.js';
import { measurementOf, reconcile, sampledFromLog, sumTotals, type HostTotals, type SampledReading, type StoredReading } from './ledger.js';
import { machmonProgram, type Program } from '../../../testkit/processes.js';

const HOSTS = ['fault-a', 'fault-b', 'fault-c'];
const PASSWORD = 'fault-suite-password';
/** broker.readerPassword: the ingestor's own, never the fleet password. */
const READER_PASSWORD = 'fault-suite-reader-password';
/** Cheap groups that give points on any Linux box (multi-row ones included); the rest are off. */
const GROUPS = ['cpusNumber', 'cpu', 'mem', 'disk', 'temperature', 'partitions', 'ioRatio', 'networkMetrics', 'systemAdditionalInfo', 'agentHealth'];
const DB = `t_faults_${Math.random().toString(36).slice(2, 8)}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let influxd: Influxd | undefined;
let broker: Program;
let ingestor: Program;
const agents = new Map<string, Program>();
const drainers = new Map<string, Program>();
const all: Program[] = [];

interface Phase { name: string; startMs: number; endMs: number }
const phases: Phase[] = [];
const kills = new Map<string, number[]>();
let passed = false;

function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

function agentConfig(host: string, brokerUrl: string, groups: readonly string[]) {
  return {
    agent: {
      brokerUrl,
      hostname: host,
      password: PASSWORD,
      system: 'FaultOS',
      intervalMs: 1000,
      metrics: Object.fromEntries(METRIC_NAMES.map((m) => [m, { enabled: groups.includes(m) }])),
      temperature: { sources: ['mock'] },
      // A reading unconfirmed 10 s after it was sent goes again (default 30 s: keeps the suite short).
      outbox: { confirmTimeoutMs: 10_000, replayPerSecond: 100 },
      reconnect: { minMs: 200, maxMs: 2000 },
      dataDir: path.join(dir, host),
    },
    log: { level: 'debug' },
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-faults-'));
  influxd = await startInfluxd();
  const port = await freePort();
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  broker = machmonProgram({
    command: 'broker',
    name: 'broker',
    logFile: path.join(dir, 'broker.log'),
    configFile: writeJson(path.join(dir, 'broker.json'), {
      broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['fault-*'], readers: ['ingestor'], dataDir: path.join(dir, 'broker') },
      log: { level: 'info' },
    }),
  });
  ingestor = machmonProgram({
    command: 'ingestor',
    name: 'ingestor',
    logFile: path.join(dir, 'ingestor.log'),
    configFile: writeJson(path.join(dir, 'ingestor.json'), {
      ingestor: {
        brokerUrl,
        password: READER_PASSWORD,
        influx: { url: influxd.url, database: DB },
        flushIntervalMs: 200,
        retry: { minMs: 200, maxMs: 2000 },
        statsIntervalMs: 5000,
        stopTimeoutMs: 1000,
        dataDir: path.join(dir, 'ingestor'),
      },
      log: { level: 'info' },
    }),
  });
  all.push(broker, ingestor);
  for (const host of HOSTS) {
    const keep = 'reading recorded';
    const a = machmonProgram({ command: 'agent', name: host, keep, logFile: path.join(dir, `${host}.log`), configFile: writeJson(path.join(dir, `${host}.json`), agentConfig(host, brokerUrl, GROUPS)) });
    const d = machmonProgram({ command: 'agent', name: `${host} (drain)`, keep, logFile: path.join(dir, `${host}-drain.log`), configFile: writeJson(path.join(dir, `${host}-drain.json`), agentConfig(host, brokerUrl, [])) });
    agents.set(host, a);
    drainers.set(host, d);
    all.push(a, d);
  }
  await broker.start('broker listening');
  await ingestor.start('subscribed');
  await Promise.all([...agents.values()].map((a) => a.start('connected to broker')));
}, 60_000);

afterAll(async () => {
  for (const p of all ?? []) p.killNow();
  await sleep(200);
  await influxd?.destroy();
  // On failure the logs of every process stay for a look.
  if (dir && passed) fs.rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log(`fault suite: logs of every process kept in ${dir}`);
});

async function phase(name: string, run: () => Promise<void>): Promise<void> {
  const startMs = Date.now();
  await run();
  phases.push({ name, startMs, endMs: Date.now() });
}

function sampled(): SampledReading[] {
  return HOSTS.flatMap((h) => sampledFromLog(h, [...agents.get(h)!.kept, ...drainers.get(h)!.kept]));
}

/** Every stored reading of the fault hosts: (host, measurement, time) with its row count. */
async function stored(): Promise<StoredReading[]> {
  const out: StoredReading[] = [];
  for (const measurement of new Set(GROUPS.map(measurementOf))) {
    const rows = await influxRows(influxd!.url, DB, `SELECT * FROM "${measurement}" WHERE hostname =~ /^fault-/`);
    const byKey = new Map<string, StoredReading & { rows: number }>();
    for (const r of rows) {
      const k = `${String(r.hostname)}@${String(r.time)}`;
      const cur = byKey.get(k);
      if (cur) cur.rows++;
      else byKey.set(k, { host: String(r.hostname), measurement, timeMs: Number(r.time), rows: 1 });
    }
    out.push(...byKey.values());
  }
  return out;
}

/** Polls InfluxDB until every reading sampled up to `before` is stored (or the time is up). */
async function waitStored(before: number, timeoutMs: number): Promise<{ missing: number; waitedMs: number; checks: number }> {
  const started = Date.now();
  for (let checks = 1; ; checks++) {
    const want = sampled().filter((s) => s.sampleTimeMs <= before);
    const rows = reconcile(want, await stored());
    const missing = rows.reduce((n, r) => n + r.lost, 0);
    if (missing === 0 || Date.now() - started > timeoutMs) return { missing, waitedMs: Date.now() - started, checks };
    await sleep(1000);
  }
}

/** What a stopped agent's outbox still holds (opened the way the agent opens it). */
function heldSeqs(host: string): Set<number> {
  const box = Outbox.open(path.join(dir, host, 'outbox'), { maxMessages: 1_000_000, maxBytes: 1 << 30, log: silentLogger });
  try {
    return new Set(box.due(0, 0, Number.MAX_SAFE_INTEGER).map((p) => p.seq));
  } finally {
    box.close();
  }
}

/**
 * From the agents' own AgentHealth points (one per second, stored like any reading): the
 * largest outbox during each phase, and how long after the phase ended every agent had
 * nothing unconfirmed left from before that moment (oldest unconfirmed sample time =
 * point time - oldestUnconfirmedAgeMs).
 */
async function outboxTimeline(): Promise<string[]> {
  const rows = await influxRows(influxd!.url, DB, `SELECT "outboxMessages", "oldestUnconfirmedAgeMs" FROM "AgentHealth" WHERE hostname =~ /^fault-/ GROUP BY "hostname"`);
  const points = rows
    .map((r) => ({ host: String(r.hostname), t: Number(r.time), n: Number(r.outboxMessages), age: Number(r.oldestUnconfirmedAgeMs) }))
    .sort((a, b) => a.t - b.t);
  return phases.map((ph, i) => {
    const until = phases[i + 1]?.startMs ?? Infinity;
    const peak = Math.max(0, ...points.filter((p) => p.t >= ph.startMs && p.t < until).map((p) => p.n));
    const back = HOSTS.map((h) => points.find((p) => p.host === h && p.t >= ph.endMs && (p.n === 0 || p.t - p.age >= ph.endMs))?.t);
    const caughtUp = back.every((t) => t !== undefined) ? `${((Math.max(...(back as number[])) - ph.endMs) / 1000).toFixed(1)} s` : 'not seen';
    return `${ph.name.padEnd(38)} ${((ph.endMs - ph.startMs) / 1000).toFixed(1).padStart(5)} s   peak outbox ${String(peak).padStart(4)} readings   all of it confirmed ${caughtUp} after`;
  });
}

function table(rows: readonly HostTotals[]): string[] {
  const t = sumTotals(rows);
  const line = (name: string, r: Omit<HostTotals, 'host' | 'lostSeqs' | 'duplicateExamples'>) =>
    `${name.padEnd(8)} sampled ${String(r.sampled).padStart(5)}  stored ${String(r.stored).padStart(5)}  duplicates ${r.duplicates}  lost ${r.lost}  (held in outbox ${r.held}, log line cut by kill -9 ${r.unlogged})`;
  return [...rows.map((r) => line(r.host, r)), line('total', t)];
}

describe('faults: every reading sampled is stored exactly once', () => {
  it('survives kill -9 of ingestor, broker and an agent, an InfluxDB stop and a 60 s broker cut', async () => {
    await sleep(6000);
    await phase('ingestor kill -9, back after 3 s', async () => {
      await ingestor.signal('SIGKILL');
      await sleep(3000);
      await ingestor.start('connected to broker');
    });
    await sleep(6000);
    await phase('broker kill -9, back after 3 s', async () => {
      await broker.signal('SIGKILL');
      await sleep(3000);
      await broker.start('broker listening');
    });
    await sleep(6000);
    await phase('InfluxDB stopped for 20 s', async () => {
      await influxd!.stop();
      await sleep(20_000);
      await influxd!.start();
    });
    await sleep(6000);
    await phase('agent fault-a kill -9, back after 5 s', async () => {
      const a = agents.get('fault-a')!;
      await a.signal('SIGKILL');
      kills.set('fault-a', [Date.now()]);
      await sleep(5000);
      await a.start('connected to broker');
    });
    await sleep(6000);
    await phase('broker cut off for 60 s (SIGSTOP)', async () => {
      await broker.signal('SIGSTOP');
      await sleep(60_000);
      await broker.signal('SIGCONT');
    });
    const cutEnd = Date.now();
    const caughtUp = await waitStored(cutEnd - 2000, 90_000);
    await sleep(5000); // a few more AgentHealth points, for the timeline of the cut

    // Stop sampling; then let each agent send what its outbox still holds, sampling nothing.
    await Promise.all([...agents.values()].map((a) => a.signal('SIGTERM')));
    await Promise.all([...drainers.values()].map((d) => d.start('connected to broker')));
    const drained = await waitStored(Date.now(), 60_000);
    await Promise.all([...drainers.values()].map((d) => d.signal('SIGTERM')));
    await sleep(1000); // the ingestor writes what the last moments brought

    const held = new Map(HOSTS.map((h) => [h, heldSeqs(h)]));
    const rows = reconcile(sampled(), await stored(), { kills, held });
    const total = sumTotals(rows);

    console.log(
      [
        `fault phases (agents sample ${GROUPS.length} groups every 1 s; outbox figures from their AgentHealth points):`,
        ...(await outboxTimeline()).map((l) => `  ${l}`),
        `  after the broker cut: InfluxDB held everything sampled before it at the ${(caughtUp.waitedMs / 1000).toFixed(1)} s check after SIGCONT (check ${caughtUp.checks})` +
          (caughtUp.missing ? ` (${caughtUp.missing} still missing then)` : ''),
        `  final drain by agents restarted with no groups: ${(drained.waitedMs / 1000).toFixed(1)} s`,
        'totals:',
        ...table(rows).map((l) => `  ${l}`),
      ].join('\n'),
    );

    for (const r of rows) {
      expect(r.sampled, `${r.host} sampled`).toBeGreaterThan(100);
      expect(r.lostSeqs, `${r.host}: seqs sampled and never stored`).toEqual([]);
      expect(r.duplicateExamples, `${r.host}: stored readings no sampled reading explains`).toEqual([]);
    }
    expect(rows.map((r) => r.host)).toEqual(HOSTS);
    expect(total.lost + total.duplicates).toBe(0);
    expect(total.stored).toBe(total.sampled);
    passed = true;
  }, 330_000);
});
