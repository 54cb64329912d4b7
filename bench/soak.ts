// `npm run bench -- soak [--agents 1000 --minutes 30 --every 5]` (not in CI): does memory stay
// flat under a steady fleet? `agents - 1` simulated agents (load.ts: real MQTT connections, 13
// groups of recorded payloads every 10 s) and one real machmon agent (the Pi bundle with the
// unit's Node flags, agent-footprint.ts) publish through machmon broker -> machmon ingestor ->
// influxd, each server its own process, for `minutes`.
//
// Memory of broker, ingestor and the real agent every `sampleSeconds`: RSS from
// /proc/<pid>/status (VmRSS), heap from inside each process (memory-probe.ts, a bench-only
// preload: heapUsed right after a full GC, so only what is still reachable). A row at the start
// and every `every` minutes; at the end the least-squares slope (MB/hour) of each series over
// the samples after the warm-up, and the verdict: flat when the growth the slope gives over the
// measured window is within the series' noise bound (FLAT_FLOOR_MB, AGENT_FLAT_FLOOR_MB for the
// agent, or twice the scatter of the samples around the fitted line when that is larger) for
// RSS, heap and external memory (Buffers) alike. Loss is checked as the fleet bench
// checks it: confirmations at the simulated agents (lost, duplicates) and every point they
// sent counted in InfluxDB; for the real agent, its own AgentHealth as stored: nothing dropped
// and nothing older than one interval still waiting for its confirmation.
//
// MACHMON_BENCH_HEAPSNAPSHOTS=<dir>: each of the three writes a heap snapshot there
// (--heapsnapshot-signal) halfway through the warm-up and one minute before the end (the
// slopes end there), to diff in Chrome DevTools' Memory tab (Comparison) when the heap grows.
// A snapshot raises a process's RSS for the rest of its life (the agent's from 50 to 100 MB
// here): such a run finds where the heap grows, its RSS figures are not the soak's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { METRIC_NAMES, metricSpec, type MetricName } from '../common/schema.js';
import { influxRows, startInfluxd } from '../testkit/influxd.js';
import type { Program } from '../testkit/processes.js';
import { buildPiAgent, startPiAgent } from './agent-footprint.js';
import { fmt, storedPoints } from './fleet.js';
import { goalList } from './goals.js';
import { quantile } from './histogram.js';
import { runLoad, sustainedRate } from './load.js';
import { parseStatusKb } from './procs.js';
import { DIST_BENCH } from './repo.js';
import { startMachmonBroker, startMachmonIngestor } from './servers.js';
import { sleep } from '../testkit/wait.js';

export interface SoakOptions {
  /** Agents in all: one real agent and agents - 1 simulated ones. */
  agents: number;
  minutes: number;
  /** Minutes between two printed rows. */
  every: number;
  /** Minutes left out of the slopes at the start (at most a quarter of the run). */
  warmup: number;
  /** Seconds between two memory samples (each one a full GC in the measured process). */
  sampleSeconds: number;
  workers: number;
}

export const SOAK_DEFAULTS: SoakOptions = { agents: 1000, minutes: 30, every: 5, warmup: 5, sampleSeconds: 30, workers: 2 };

/**
 * The smallest growth over the measured window called growth (MB). Below it a figure moves at
 * the granularity of the memory it counts: V8 allocates its heap in 256 KiB pages and grows
 * its young generation in steps of a semi-space (16 MiB at most by default), glibc's malloc
 * keeps freed arenas; 1 MB is a few of those steps. Over 25 minutes it is a slope of 2.4
 * MB/hour.
 */
export const FLAT_FLOOR_MB = 1;
/**
 * The agent's floor: it runs with 1 MiB semi-spaces and a 7 MB heap (its samples scatter by
 * 0.01-0.3 MB), and on a Pi its budget is 5 MB over the bare runtime; 0.25 MB is one V8 page,
 * over 25 minutes 0.6 MB/hour. The 1 MB floor let its 0.8 MB/hour of pinned Buffer pool blocks
 * (agent/runtime/buffer-pool.ts) pass as flat.
 */
export const AGENT_FLAT_FLOOR_MB = 0.25;
const INTERVAL_MS = 10_000;
const PASSWORD = 'bench-soak-secret';
const READER_PASSWORD = 'bench-soak-reader';
const AGENT_HOST = 'bench-pi';

interface Sample { min: number; rssMb: number; heapMb: number; externalMb: number; gcMs: number }
interface Watched { name: string; proc: Program; probe: string; samples: Sample[] }
interface ProbeSample { at: number; heapUsed: number; external: number; gcMs: number }

const MB = 1024 * 1024;

/** The preload's flag for one process: its samples go to `out`. */
function probeArgs(out: string, everyMs: number, snapshotDir: string | undefined): string[] {
  const url = pathToFileURL(path.join(DIST_BENCH, 'memory-probe.js'));
  url.search = new URLSearchParams({ out, everyMs: String(everyMs) }).toString();
  return [`--import=${url.href}`, ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [])];
}

function readProbe(file: string): ProbeSample | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProbeSample;
  } catch {
    return undefined;
  }
}

function sample(w: Watched, min: number): Sample | undefined {
  let rssKb = NaN;
  try {
    rssKb = parseStatusKb(readFileSync(`/proc/${w.proc.pid}/status`, 'utf8'), 'VmRSS');
  } catch { /* exited: NaN */ }
  const p = readProbe(w.probe);
  if (!Number.isFinite(rssKb) || !p) return undefined;
  const s = { min, rssMb: rssKb / 1024, heapMb: p.heapUsed / MB, externalMb: p.external / MB, gcMs: p.gcMs };
  w.samples.push(s);
  return s;
}

export interface Fit { slope: number; slopeSe: number; residualSd: number; n: number }

/** Least squares y = a + b x: slope b, its standard error and the residuals' standard deviation. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  if (n < 3) return { slope: NaN, slopeSe: NaN, residualSd: NaN, n };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  const residualSd = Math.sqrt(sse / (n - 2));
  return { slope, slopeSe: residualSd / Math.sqrt(sxx), residualSd, n };
}

export interface Verdict { fit: Fit; growthMb: number; boundMb: number; flat: boolean }

/** Flat: the growth the slope gives over the window is within max(floorMb, 2 x the residuals' SD). */
export function flatness(samples: readonly { min: number; y: number }[], floorMb = FLAT_FLOOR_MB): Verdict {
  const fit = leastSquares(samples.map((s) => s.min / 60), samples.map((s) => s.y));
  const hours = samples.length ? (samples[samples.length - 1]!.min - samples[0]!.min) / 60 : 0;
  const growthMb = fit.slope * hours;
  const boundMb = Math.max(floorMb, 2 * fit.residualSd);
  return { fit, growthMb, boundMb, flat: Number.isFinite(growthMb) && growthMb <= boundMb };
}

const mbs = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : fmt(x, 1));
const pad = (s: string, n: number) => s.padStart(n);

export async function benchSoak(o: SoakOptions): Promise<{ lines: string[]; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-soak-'));
  const stops: (() => Promise<void>)[] = [];
  const goals = goalList('GOALS (README "Scaling", soak):');
  const goal = goals.goal;
  const simulated = Math.max(0, o.agents - 1);
  const cycles = Math.max(1, Math.round((o.minutes * 60_000) / INTERVAL_MS));
  const warmup = Math.min(o.warmup, o.minutes / 4);
  const everyMs = o.sampleSeconds * 1000;
  const snapshotDir = process.env['MACHMON_BENCH_HEAPSNAPSHOTS'] ? path.resolve(process.env['MACHMON_BENCH_HEAPSNAPSHOTS']) : undefined;
  const snapshotsAt = snapshotDir ? [warmup / 2, Math.max(warmup + (o.minutes - warmup) / 2, o.minutes - 1)] : [];
  /** End of the slopes' window: the last snapshot (it moves RSS) or the end of the run. */
  const windowEnd = snapshotsAt[1] ?? o.minutes;
  try {
    if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
    const pi = buildPiAgent(dir);
    const influxd = await startInfluxd();
    stops.push(() => influxd.destroy());
    const db = 'soak';
    const probe = (name: string) => path.join(dir, `${name}.memory.json`);
    const broker = await startMachmonBroker(dir, { secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['bench-*'], readers: ['ingestor'] }, 'machmon-broker', 'warn', probeArgs(probe('broker'), everyMs, snapshotDir));
    stops.push(() => broker.stop());
    const ingestor = await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${broker.port}`, password: READER_PASSWORD, influx: { url: influxd.url, database: db } }, 'machmon-ingestor', probeArgs(probe('ingestor'), everyMs, snapshotDir));
    stops.unshift(() => ingestor.stop());
    // The real agent as deployed: default groups and intervals (agent.intervalMs 10 s), the fleet password.
    const agent = await startPiAgent(dir, pi, { brokerUrl: `mqtt://127.0.0.1:${broker.port}`, hostname: AGENT_HOST, password: PASSWORD }, { nodeArgs: probeArgs(probe('agent'), everyMs, snapshotDir), logLevel: 'info' });
    stops.unshift(() => agent.stop());
    const watched: Watched[] = [
      { name: 'broker', proc: broker, probe: probe('broker'), samples: [] },
      { name: 'ingestor', proc: ingestor, probe: probe('ingestor'), samples: [] },
      { name: 'agent', proc: agent, probe: probe('agent'), samples: [] },
    ];
    // The idle row: a sample of each taken after all three were up (the first one, 100 ms after a start, is of a process still loading).
    const ready = Date.now();
    const fresh = (w: Watched) => (readProbe(w.probe)?.at ?? 0) >= ready;
    for (const deadline = ready + everyMs + 5000; Date.now() < deadline && !watched.every(fresh);) await sleep(200);
    for (const w of watched) if (!fresh(w)) throw new Error(`no memory sample from the ${w.name} (${w.probe}) within ${o.sampleSeconds + 5} s:\n${w.proc.output()}`);

    console.log(`soak: ${fmt(o.agents)} agents (${fmt(simulated)} simulated + 1 machmon agent: the Pi bundle, ${pi.flags.join(' ')}) x 13 groups every 10 s = ${fmt((o.agents * 13 * 1000) / INTERVAL_MS)} readings/s offered, ${o.minutes} min, ${o.workers} generator processes`);
    console.log(`  through machmon broker (pid ${broker.pid}) -> machmon ingestor (pid ${ingestor.pid}) -> influxd; agent pid ${agent.pid}; work dir ${dir}`);
    console.log(`  memory every ${o.sampleSeconds} s: RSS = VmRSS of /proc/<pid>/status, heap = heapUsed after a full GC (bench/memory-probe.ts inside each process); a row every ${o.every} min`);
    const header = `  ${pad('min', 6)} | ${['broker', 'ingestor', 'agent'].map((n) => pad(`${n} RSS / heap MB`, 22)).join(' | ')} | ${pad('sent', 10)} ${pad('confirmed', 10)} ${pad('backlog', 8)}`;
    const row = (label: string, s: (Sample | undefined)[], sent?: number, done?: number) =>
      console.log(`  ${pad(label, 6)} | ${s.map((x) => pad(`${mbs(x?.rssMb)} / ${mbs(x?.heapMb)}`, 22)).join(' | ')} | ${pad(sent === undefined ? '' : fmt(sent), 10)} ${pad(done === undefined ? '' : fmt(done), 10)} ${pad(sent === undefined || done === undefined ? '' : fmt(sent - done), 8)}`);
    console.log(header);
    // Before the fleet: the servers with only the real agent (not in the slopes).
    row('idle', watched.map((w) => {
      const s = sample(w, -1);
      w.samples.pop();
      return s;
    }));

    let nextRowMin = 0;
    /** Readings sent but not yet confirmed, per sample: the pipeline keeps up when it stays within a cycle or two. */
    const backlog: { min: number; n: number }[] = [];
    const fleet = await runLoad({
      password: PASSWORD, prefix: 'bench-', agents: simulated, workers: o.workers, mode: 'fleet', intervalMs: INTERVAL_MS, cycles, connectPerSecond: 500,
      // A backlog is drained to the end (loss is what never comes), unless nothing moves for a minute.
      drainTimeoutMs: 30 * 60_000, stallMs: 60_000, port: broker.port, confirm: true, progressEveryMs: everyMs,
      onProgress: (p) => {
        const min = p.elapsedMs / 60_000;
        backlog.push({ min, n: p.sent - p.done });
        const s = watched.map((w) => sample(w, min));
        while (snapshotsAt.length && min >= snapshotsAt[0]!) {
          snapshotsAt.shift();
          for (const w of watched) if (w.proc.pid) process.kill(w.proc.pid, 'SIGUSR2');
          console.log(`  ${fmt(min, 1)} min: heap snapshots of ${watched.map((w) => `${w.name} (pid ${w.proc.pid})`).join(', ')} requested into ${snapshotDir}`);
        }
        if (min + 1e-6 >= nextRowMin) {
          row(fmt(min, 1), s, p.sent, p.done);
          while (nextRowMin <= min + 1e-6) nextRowMin += o.every;
        }
      },
    });
    const endMin = (Date.now() - fleet.startAt) / 60_000;
    row('end', watched.map((w) => {
      const s = sample(w, endMin);
      w.samples.pop(); // after the load stopped: not in the slopes
      return s;
    }), fleet.sent, fleet.done);
    const sustained = sustainedRate(fleet.perSecond, fleet.startAt + INTERVAL_MS, fleet.publishedAt);
    const offered = (simulated * 13 * 1000) / INTERVAL_MS;
    console.log(`  fleet: ${fmt(fleet.connected)}/${fmt(simulated)} simulated agents connected in ${fmt(fleet.connectMs / 1000, 1)} s; ${fmt(sustained)} of ${fmt(offered)} readings/s offered confirmed stored (sustained); latency p50 ${fmt(quantile(fleet.latency, 0.5))} ms, p99 ${fmt(quantile(fleet.latency, 0.99))} ms; disconnects ${fmt(fleet.disconnects)}; last confirmation ${fmt((fleet.lastDoneMs - fleet.publishedAt) / 1000, 1)} s after the last publish; generator cpu ${fmt(fleet.generatorCpuSeconds, 1)} s`);
    // Steady state is the premise of the slopes: memory that follows a growing backlog is the backlog, not a leak.
    const inWindow = backlog.filter((b) => b.min >= warmup && b.min <= windowEnd + 1e-6);
    const cycle = simulated * 13;
    const lastBacklog = inWindow[inWindow.length - 1]?.n ?? NaN;
    goal('keeps-up', lastBacklog <= 2 * cycle, `backlog (sent, not yet confirmed) ${fmt(inWindow[0]?.n ?? NaN)} readings at ${fmt(warmup, 1)} min, ${fmt(lastBacklog)} at ${fmt(windowEnd, 1)} min, at most ${fmt(Math.max(...inWindow.map((b) => b.n)))}; sustained ${fmt(sustained)} of ${fmt(offered)} readings/s (goal: backlog at the end <= 2 cycles, ${fmt(2 * cycle)} readings; else the slopes below measure the backlog too)`);

    // Slopes, after the warm-up, while the fleet published.
    console.log(`slopes over ${fmt(warmup, 1)}-${fmt(windowEnd, 1)} min (least squares; the first ${fmt(warmup, 1)} min are warm-up: connections, first writes, V8's code and heap growing to their working size; flat = RSS, heap and external (Buffers) each growing over the window by at most max(${FLAT_FLOOR_MB} MB, the agent ${AGENT_FLAT_FLOOR_MB} MB; 2 x the scatter around the fit)):`);
    for (const w of watched) {
      const kept = w.samples.filter((s) => s.min >= warmup && s.min <= windowEnd + 1e-6);
      const v = (y: (s: Sample) => number) => flatness(kept.map((s) => ({ min: s.min, y: y(s) })), w.name === 'agent' ? AGENT_FLAT_FLOOR_MB : FLAT_FLOOR_MB);
      const rss = v((s) => s.rssMb);
      const heap = v((s) => s.heapMb);
      const ext = v((s) => s.externalMb);
      const say = (label: string, x: Verdict) => `${label} ${fmt(x.fit.slope, 2)} ± ${fmt(x.fit.slopeSe, 2)} MB/h (growth ${fmt(x.growthMb, 2)} MB, bound ${fmt(x.boundMb, 2)} MB)`;
      const gc = w.samples.map((s) => s.gcMs).sort((a, b) => a - b);
      console.log(`  ${w.name}: ${kept.length} samples; ${say('RSS', rss)}; ${say('heap', heap)}; ${say('external', ext)}; the probe's full GC took ${fmt(gc[gc.length >> 1] ?? NaN, 0)} ms (median)`);
      const alive = w.proc.running;
      goal(`flat-${w.name}`, alive && rss.flat && heap.flat && ext.flat, `${alive ? '' : 'EXITED; '}RSS ${fmt(rss.fit.slope, 2)} MB/h (${fmt(rss.growthMb, 2)} MB over the window, bound ${fmt(rss.boundMb, 2)}), heap ${fmt(heap.fit.slope, 2)} MB/h (${fmt(heap.growthMb, 2)} MB, bound ${fmt(heap.boundMb, 2)}), external ${fmt(ext.fit.slope, 2)} MB/h (${fmt(ext.growthMb, 2)} MB, bound ${fmt(ext.boundMb, 2)}) (goal: flat)`);
    }

    // Loss: the simulated fleet (confirmations, InfluxDB) and the real agent (its AgentHealth).
    const notPi = `"hostname" != '${AGENT_HOST}'`;
    let missing = 0;
    for (const [metric, s] of Object.entries(fleet.sentByMetric)) {
      const stored = await storedPoints(influxd.url, db, metricSpec(metric as MetricName).measurement, fleet.firstSendMs, notPi);
      if (stored < s.points) console.log(`  InfluxDB ${metricSpec(metric as MetricName).measurement}: ${fmt(stored)} points stored, ${fmt(s.points)} sent`);
      missing += Math.max(0, s.points - stored);
    }
    goal('fleet-loss', fleet.lost === 0 && fleet.duplicates === 0 && missing === 0 && fleet.sent > 0, `${fmt(fleet.sent)} readings (${fmt(fleet.sentPoints)} points) sent by the simulated agents: lost ${fmt(fleet.lost)}, duplicates ${fmt(fleet.duplicates)}, points missing in InfluxDB ${fmt(missing)} (goal 0 / 0 / 0)`);
    const health = await influxRows(influxd.url, db, `SELECT outboxMessages, oldestUnconfirmedAgeMs, droppedTotal, resentTotal FROM "${metricSpec('agentHealth').measurement}" WHERE "hostname" = '${AGENT_HOST}' ORDER BY time DESC LIMIT 1`);
    const [h] = health;
    const agentPoints = await Promise.all(METRIC_NAMES.map((m) => storedPoints(influxd.url, db, metricSpec(m).measurement, undefined, `"hostname" = '${AGENT_HOST}'`)));
    const num = (k: string) => Number(h?.[k] ?? NaN);
    const agentOk = h !== undefined && num('droppedTotal') === 0 && num('oldestUnconfirmedAgeMs') < INTERVAL_MS && agent.running;
    goal('agent-loss', agentOk, h
      ? `the machmon agent: ${fmt(agentPoints.reduce((a, b) => a + b, 0))} points stored; its last AgentHealth: outbox ${fmt(num('outboxMessages'))} readings, oldest unconfirmed ${fmt(num('oldestUnconfirmedAgeMs'))} ms, dropped ${fmt(num('droppedTotal'))}, re-sent ${fmt(num('resentTotal'))} (goal: nothing dropped, nothing older than one interval unconfirmed)`
      : `no AgentHealth of ${AGENT_HOST} in InfluxDB:\n${agent.output().slice(-1500)}`);
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    if (process.env['MACHMON_BENCH_KEEP']) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return goals.result();
}
