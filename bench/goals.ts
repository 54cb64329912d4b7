// `npm run bench` (default): the goals of README "Scaling", one run on this box, everything
// on it (load generator, machmon broker, machmon ingestor, influxd, mosquitto), each figure
// printed beside its goal and a last line GOALS-MET or GOALS-MISSED: <which>.
//
//  1. fleet: `agents` simulated agents (13 groups every 10 s, recorded payloads) through
//     broker -> ingestor -> influxd for `minutes`; connect time and the cost per connect of
//     the first and the last 1,000 agents; sustained rate, loss, duplicates, p99 latency
//     (sample -> confirmation back at the agent), every point checked in InfluxDB.
//  2. capacity: the broker as bare pub/sub (one persistent QoS 1 reader, as the ingestor is)
//     against bare mosquitto, side by side, alternating, medians; the full pipeline; and the
//     ingestor alone (fed by mosquitto, so the broker is not what limits it).
//  3. overload: twice the pipeline's capacity offered for 60 s, then nothing: the broker must
//     stay up, push back (it logs when it stops reading from agents), stay under RSS_BOUND_MB,
//     and everything offered must be stored once the load is gone.
//  4. reconnect storm: the fleet as agents that reconnect and re-send like the real one's
//     outbox; the broker is killed (-9) and restarted on the same port and data; every agent
//     back and every reading taken before the restart confirmed, within 2 minutes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricSpec, type MetricName } from '../common/schema.js';
import { influxQuery, startInfluxd } from '../testkit/influxd.js';
import { startVictoriaMetrics } from '../testkit/victoria-metrics.js';
import { fmt, mb, storedPoints } from './fleet.js';
import { median, quantile } from './histogram.js';
import { runLoad, sustainedRate, type LoadOptions, type LoadResult } from './load.js';
import { cpuBetween, pidsByCmdline, sampleProc } from './procs.js';
import { startMachmonBroker, startMachmonIngestor, startMosquitto, type Server } from './servers.js';

export const PHASES = ['fleet', 'capacity', 'overload', 'storm'] as const;
export type Phase = (typeof PHASES)[number];

export interface GoalsOptions {
  agents: number;
  /** Minutes of the sustained fleet run (after connecting). */
  minutes: number;
  workers: number;
  repeats: number;
  /** Seconds of 2x overload. */
  overloadSeconds: number;
  /** The phases to run (`--only storm,overload`); all by default. */
  only?: readonly Phase[];
}

export const GOALS_DEFAULTS: GoalsOptions = { agents: 10_000, minutes: 3, workers: 2, repeats: 3, overloadSeconds: 60 };

/** `--only a,b`: the phases named, or an error naming the known ones. */
export function parsePhases(list: string): Phase[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (bad.length || !names.length) throw new Error(`--only: unknown phase ${bad.join(', ') || '(none)'} (known: ${PHASES.join(', ')})`);
  return names as Phase[];
}

/** The broker's RSS bound under overload, stated before the run: 10,000 connections, maxPendingPublishes (10,000) waiting publishes and each agent's in-flight window. */
export const RSS_BOUND_MB = 1024;

const PASSWORD = 'bench-goals-secret';
/** broker.readerPassword: the ingestor's own, never the fleet password. */
const READER_PASSWORD = 'bench-goals-reader-secret';
const INTERVAL_MS = 10_000;

interface Goal {
  name: string;
  ok: boolean;
  text: string;
}

/** A benchmark's goals: each printed as it is decided; then the block of all of them under `title` and the last line, GOALS-MET or GOALS-MISSED: <which>. */
export function goalList(title: string) {
  const goals: Goal[] = [];
  const say = (g: Goal) => `  ${g.ok ? 'ok    ' : 'MISSED'} ${g.name}: ${g.text}`;
  return {
    goal(name: string, ok: boolean, text: string) {
      goals.push({ name, ok, text });
      console.log(say(goals[goals.length - 1]!));
    },
    result(): { lines: string[]; ok: boolean } {
      const missed = goals.filter((g) => !g.ok).map((g) => g.name);
      return { lines: [title, ...goals.map(say), missed.length ? `GOALS-MISSED: ${missed.join(', ')}` : 'GOALS-MET'], ok: missed.length === 0 };
    },
  };
}

/**
 * Stored points in InfluxDB against what the generator sent in this run, over every
 * measurement: points sampled since the run's first send (the phases reuse the same
 * hostnames, so that InfluxDB holds one fleet's series, not one set per phase: three sets of
 * 10,000 hosts passed InfluxDB 1.6's max-series-per-database of 1,000,000).
 */
async function missingPoints(url: string, db: string, r: LoadResult): Promise<number> {
  let missing = 0;
  for (const [metric, s] of Object.entries(r.sentByMetric)) {
    const stored = await storedPoints(url, db, metricSpec(metric as MetricName).measurement, r.firstSendMs);
    missing += Math.max(0, s.points - stored);
  }
  return missing;
}

/** Samples a process's RSS every second until stopped; returns the peak (kB). */
function rssSampler(pid: () => number) {
  let peak = 0;
  const t = setInterval(() => {
    const s = sampleProc(pid());
    if (s && s.rssKb > peak) peak = s.rssKb;
  }, 1000);
  return { stop: () => (clearInterval(t), peak) };
}

const rate = (r: LoadResult) => (r.done > 0 ? r.done / ((r.lastDoneMs - r.firstSendMs) / 1000) : 0);

export async function benchGoals(o: GoalsOptions): Promise<{ lines: string[]; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-goals-'));
  const stops: (() => Promise<void>)[] = [];
  const goals = goalList('GOALS (README "Scaling"):');
  const goal = goals.goal;
  const offered = (o.agents * 13 * 1000) / INTERVAL_MS;
  try {
    console.log(`goals: ${fmt(o.agents)} agents x 13 groups every 10 s = ${fmt(offered)} readings/s, ${o.minutes} min; work dir ${dir}`);
    const influxd = await startInfluxd();
    stops.push(() => influxd.destroy());
    const influxPid = pidsByCmdline(path.join(influxd.dir, 'influxdb.conf'))[0] ?? -1;
    const brokerSection = { secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['bench-*', 'burst*'], readers: ['ingestor'], dataDir: path.join(dir, 'broker-data') };
    let broker: Server = await startMachmonBroker(dir, brokerSection, 'machmon-broker', 'warn');
    stops.push(() => broker.stop());
    const db = 'bench';
    const ingestor = await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${broker.port}`, password: READER_PASSWORD, influx: { url: influxd.url, database: db } });
    stops.unshift(() => ingestor.stop());
    const mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
    stops.push(() => mosquitto.stop());
    const brokerAlive = () => broker.running;
    const progress = (label: string) => (p: { sent: number; done: number; elapsedMs: number }) => console.log(`    ${label} ${fmt(p.elapsedMs / 1000)} s: sent ${fmt(p.sent)}, done ${fmt(p.done)}`);

    const want = (phase: Phase) => !o.only || o.only.includes(phase);

    // 1. The fleet.
    if (want('fleet')) {
      const cycles = Math.ceil((o.minutes * 60_000) / INTERVAL_MS) + 1;
      const b0 = sampleProc(broker.pid!);
      const fleet = await runLoad({ password: PASSWORD, prefix: 'bench-', agents: o.agents, workers: o.workers, mode: 'fleet', intervalMs: INTERVAL_MS, cycles, connectPerSecond: 1000, drainTimeoutMs: 120_000, stallMs: 30_000, port: broker.port, confirm: true, onProgress: progress('fleet') });
      const b1 = sampleProc(broker.pid!);
      const sustained = sustainedRate(fleet.perSecond, fleet.startAt + INTERVAL_MS, fleet.publishedAt);
      const p50 = quantile(fleet.latency, 0.5);
      const p99 = quantile(fleet.latency, 0.99);
      const fleetMissing = await missingPoints(influxd.url, db, fleet);
      const lat = fleet.connectLatencies;
      const first = median(lat.slice(0, Math.min(1000, lat.length)));
      const last = median(lat.slice(-1000));
      console.log(`fleet: ${fmt(fleet.connected)}/${fmt(o.agents)} connected in ${fmt(fleet.connectMs / 1000, 1)} s; sent ${fmt(fleet.sent)} readings (${fmt(fleet.sentPoints)} points); broker cpu ${fmt(cpuBetween(b0, b1), 1)} s, peak RSS ${mb(b1?.peakRssKb)}`);
      goal('connect', fleet.connected === o.agents && fleet.connectMs < 60_000, `${fmt(o.agents)} agents connected in ${fmt(fleet.connectMs / 1000, 1)} s (goal < 60 s)`);
      goal('connect-flat', last < 2 * first + 5, `connect + subscribe per agent, median: first 1,000 ${fmt(first, 1)} ms, last 1,000 ${fmt(last, 1)} ms (goal: flat, last < 2x first)`);
      goal('sustained', sustained >= 0.98 * offered && o.minutes >= 3, `${fmt(sustained)} readings/s stored over ${o.minutes} min (goal ${fmt(offered)} for >= 3 min)`);
      goal('fleet-loss', fleet.lost === 0 && fleet.duplicates === 0 && fleetMissing === 0, `lost ${fmt(fleet.lost)}, duplicates ${fmt(fleet.duplicates)}, points missing in InfluxDB ${fmt(fleetMissing)} (goal 0 / 0 / 0)`);
      goal('p99', p99 < 2000, `latency p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms (goal p99 < 2,000 ms)`);
    }

    // 2. Capacity.
    const burst = (prefix: string): LoadOptions => ({ password: PASSWORD, prefix, agents: 100, workers: o.workers, mode: 'burst', burstMessages: 400, window: 10, connectPerSecond: 2000, drainTimeoutMs: 60_000, stallMs: 10_000, port: 0, confirm: false });
    const brokerCap: number[] = [];
    const mosqCap: number[] = [];
    const pipeCap: number[] = [];
    const ingCap: number[] = [];
    let capLost = 0;
    let pipeline = NaN;
    if (want('capacity')) {
      const ingestorOnMosquitto = await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${mosquitto.port}`, clientId: 'machmon-ingestor-alone', password: PASSWORD, influx: { url: influxd.url, database: 'alone' } }, 'machmon-ingestor-alone');
      stops.unshift(() => ingestorOnMosquitto.stop());
      console.log(`capacity: 100 connections x 400 readings, 10 unacknowledged each, ${o.repeats} runs of each:`);
      // The broker alone, as bare pub/sub: a second machmon broker with the same config whose only reader is the sink.
      const bare = await startMachmonBroker(dir, { ...brokerSection, dataDir: path.join(dir, 'bare-data') }, 'machmon-broker-bare', 'warn');
      stops.unshift(() => bare.stop());
      for (let r = 0; r < o.repeats && brokerAlive(); r++) {
        const sink = { username: 'ingestor', password: READER_PASSWORD, persistent: true };
        const a = await runLoad({ ...burst(`burst${r}a-`), port: bare.port, sink });
        const b = await runLoad({ ...burst(`burst${r}b-`), port: mosquitto.port, sink: { persistent: true } });
        const c = await runLoad({ ...burst(`burst${r}c-`), port: broker.port, confirm: true });
        const d = await runLoad({ ...burst(`burst${r}d-`), port: mosquitto.port, confirm: true });
        brokerCap.push(rate(a));
        mosqCap.push(rate(b));
        pipeCap.push(rate(c));
        ingCap.push(rate(d));
        capLost += a.lost + c.lost + d.lost;
        console.log(`  run ${r + 1}: broker ${fmt(rate(a))}, mosquitto ${fmt(rate(b))} readings/s received (ratio ${fmt(rate(a) / rate(b), 2)}); pipeline ${fmt(rate(c))}, ingestor alone (via mosquitto) ${fmt(rate(d))} readings/s stored; lost ${a.lost}/${b.lost}/${c.lost}/${d.lost}`);
      }
      const ratio = median(brokerCap.map((x, i) => x / mosqCap[i]!));
      pipeline = median(pipeCap);
      goal('capacity-ratio', ratio >= 0.5 && capLost === 0, `broker ${fmt(median(brokerCap))} vs mosquitto ${fmt(median(mosqCap))} readings/s as bare pub/sub: ratio ${fmt(ratio, 2)} (goal >= 0.5); full pipeline ${fmt(pipeline)} readings/s stored (ratio ${fmt(pipeline / median(mosqCap), 2)}); lost ${capLost}`);
      goal('ingestor-alone', median(ingCap) >= 30_000, `ingestor ${fmt(median(ingCap))} readings/s stored (goal >= 30,000)`);
      await ingestorOnMosquitto.stop();
      await bare.stop();
    } else if (want('overload') && brokerAlive()) {
      // Overload offers twice the pipeline's capacity: measure it once, as the capacity phase does.
      const c = await runLoad({ ...burst('burst0c-'), port: broker.port, confirm: true });
      pipeline = rate(c);
      console.log(`capacity (for the overload phase): full pipeline ${fmt(pipeline)} readings/s stored, lost ${c.lost}`);
    }

    // 3. Overload: twice the pipeline's capacity for overloadSeconds, then nothing.
    if (want('overload')) {
      if (brokerAlive() && Number.isFinite(pipeline) && pipeline > 0) {
        const intervalMs = Math.max(500, Math.round((o.agents * 13 * 1000) / (2 * pipeline)));
        const overCycles = Math.max(1, Math.round((o.overloadSeconds * 1000) / intervalMs));
        const logBefore = readFileSync(path.join(dir, 'machmon-broker.log'), 'utf8').length;
        console.log(`overload: ${fmt(o.agents)} agents every ${fmt(intervalMs / 1000, 1)} s = ${fmt((o.agents * 13 * 1000) / intervalMs)} readings/s offered (2x ${fmt(pipeline)}) for ${fmt((overCycles * intervalMs) / 1000)} s, then nothing`);
        const rss = rssSampler(() => broker.pid!);
        const over = await runLoad({ password: PASSWORD, prefix: 'bench-', agents: o.agents, workers: o.workers, mode: 'fleet', intervalMs, cycles: overCycles, connectPerSecond: 1000, drainTimeoutMs: 300_000, stallMs: 60_000, port: broker.port, confirm: true, onProgress: progress('overload') });
        const peakKb = rss.stop();
        const overMissing = await missingPoints(influxd.url, db, over);
        const log = readFileSync(path.join(dir, 'machmon-broker.log'), 'utf8').slice(logBefore);
        const pushbacks = (log.match(/overloaded: stopped reading from agents/g) ?? []).length;
        goal('overload-alive', brokerAlive(), `broker ${brokerAlive() ? 'stayed up' : 'EXITED'}; stopped reading from agents ${pushbacks} times (pushback)`);
        goal('overload-rss', peakKb > 0 && peakKb / 1024 < RSS_BOUND_MB, `broker peak RSS ${mb(peakKb)} (bound ${RSS_BOUND_MB} MB)`);
        goal('overload-loss', over.lost === 0 && over.duplicates === 0 && overMissing === 0, `${fmt(over.sent)} offered, lost ${fmt(over.lost)}, duplicates ${fmt(over.duplicates)}, points missing ${fmt(overMissing)}, all stored ${fmt((over.lastDoneMs - over.publishedAt) / 1000, 1)} s after the load stopped (goal 0 lost)`);
      } else goal('overload', false, 'not run (broker down or no pipeline capacity)');
    }

    // 4. Reconnect storm: kill -9 and restart mid-run; resilient agents reconnect and re-send.
    if (want('storm')) {
      if (brokerAlive()) {
        const killAtMs = 20_000;
        let restartAt = 0;
        let allBackMs = NaN;
        let drainedMs = NaN;
        let ingestorBackMs = NaN;
        let restarting: Promise<void> | undefined;
        const stormCycles = 15; // 150 s of readings: 20 s before the kill, 130 s after
        const storm = await runLoad({
          password: PASSWORD, prefix: 'bench-', agents: o.agents, workers: o.workers, mode: 'fleet', intervalMs: INTERVAL_MS, cycles: stormCycles, connectPerSecond: 1000,
          drainTimeoutMs: 180_000, stallMs: 60_000, port: broker.port, confirm: true, progressEveryMs: 1000,
          resilient: { minMs: 1000, maxMs: 60_000, resendAfterMs: 30_000, replayPerSecond: 50 },
          onProgress: (p) => {
            if (p.elapsedMs >= killAtMs && !restarting) {
              restarting = (async () => {
                console.log(`    storm ${fmt(p.elapsedMs / 1000)} s: kill -9 the broker with ${fmt(p.online)} agents connected`);
                await broker.signal('SIGKILL');
                broker = await startMachmonBroker(dir, { ...brokerSection, port: broker.port }, 'machmon-broker-restarted', 'warn');
                restartAt = Date.now();
                console.log(`    broker restarted`);
              })();
            }
            if (restartAt && Number.isNaN(ingestorBackMs) && /reconnected to broker/.test(readFileSync(path.join(dir, 'machmon-ingestor.log'), 'utf8'))) {
              ingestorBackMs = Date.now() - restartAt;
              console.log(`    storm ${fmt(p.elapsedMs / 1000)} s: the ingestor's session is back, ${fmt(ingestorBackMs / 1000, 1)} s after the restart`);
            }
            if (restartAt && Number.isNaN(allBackMs) && p.online === o.agents) allBackMs = Date.now() - restartAt;
            if (restartAt && Number.isNaN(drainedMs) && (p.oldestUnconfirmedMs === 0 || p.oldestUnconfirmedMs > restartAt)) drainedMs = Date.now() - restartAt;
            if (p.elapsedMs % 10_000 < 1000) console.log(`    storm ${fmt(p.elapsedMs / 1000)} s: online ${fmt(p.online)}, sent ${fmt(p.sent)}, done ${fmt(p.done)}, re-sent ${fmt(p.resent)}`);
          },
        });
        await restarting;
        const stormMissing = await missingPoints(influxd.url, db, storm);
        goal('storm', allBackMs < 120_000 && drainedMs < 120_000 && storm.lost === 0 && stormMissing === 0,
          `after kill -9 and restart: the ingestor back in ${fmt(ingestorBackMs / 1000, 1)} s, all ${fmt(o.agents)} agents back in ${fmt(allBackMs / 1000, 1)} s, every reading from before the restart confirmed ${fmt(drainedMs / 1000, 1)} s after it (goal both < 120 s); ${fmt(storm.resent)} re-sent, lost ${fmt(storm.lost)}, points missing ${fmt(stormMissing)}`);
      } else goal('storm', false, 'not run (broker down)');
    }

    const x = sampleProc(influxPid);
    console.log(`influxd cpu ${fmt(x?.cpuSeconds ?? NaN, 1)} s over the run; ${(await influxQuery(influxd.url, db, 'SHOW MEASUREMENTS')).series?.[0]?.values.length ?? 0} measurements`);
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    if (process.env['MACHMON_BENCH_KEEP']) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return goals.result();
}

/**
 * `npm run bench -- ingestor`: the ingestor alone, mosquitto feeding it (so the broker is not
 * what limits it), for profiling with MACHMON_BENCH_PROFILE=<dir>. Two ways per run, behind
 * influxd and behind victoria-metrics (a fast peer: what is left is the ingestor's own cost):
 *   - live: the load generator publishes while the ingestor takes them (generator, mosquitto,
 *     ingestor and the database share the box's 2 cores: the generator's ~50-60 us per
 *     reading alone caps what it can offer near 15,000-20,000/s here);
 *   - backlog (the goal): the ingestor is stopped (SIGSTOP) while the readings are published,
 *     so mosquitto holds them for its persistent session, then let go (SIGCONT): readings /
 *     (last confirmation at the agents - resume), with only the ingestor, the database and
 *     mosquitto working. Each reading is confirmed only after its write, as always.
 * The ingestor's CPU per reading is printed for both: it depends less on the noise of the box.
 */
export async function benchIngestorAlone(o: { repeats: number; burstAgents: number; burstMessages: number }): Promise<{ line: string; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-ingestor-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const influxd = await startInfluxd();
    stops.push(() => influxd.destroy());
    const vm = await startVictoriaMetrics();
    stops.push(() => vm.destroy());
    const mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
    stops.push(() => mosquitto.stop());
    const extra = process.env['MACHMON_BENCH_INGESTOR'] ? (JSON.parse(process.env['MACHMON_BENCH_INGESTOR']) as Record<string, unknown>) : {};
    const peers = [
      { name: 'influxd', influx: { url: influxd.url, database: 'alone' } },
      { name: 'victoria-metrics', influx: { apiVersion: 2, url: vm.url, org: 'machmon', bucket: 'alone', token: 'not-checked-by-vm' } },
    ];
    const summary: string[] = [];
    let goalRate = 0;
    for (const peer of peers) {
      const name = `machmon-ingestor-${peer.name}`;
      const ingestor = await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${mosquitto.port}`, clientId: name, password: PASSWORD, influx: peer.influx, ...extra }, name);
      const live: number[] = [];
      const backlog: number[] = [];
      const usLive: number[] = [];
      const usBacklog: number[] = [];
      try {
        const burst = (prefix: string): LoadOptions => ({ password: PASSWORD, prefix, agents: o.burstAgents, workers: 2, mode: 'burst', burstMessages: o.burstMessages, window: 10, connectPerSecond: 2000, drainTimeoutMs: 120_000, stallMs: 10_000, port: mosquitto.port, confirm: true });
        for (let r = 0; r < o.repeats; r++) {
          // The same hostnames every run and peer: the series set stays one of burstAgents hosts.
          const before = sampleProc(ingestor.pid!);
          const d = await runLoad(burst('burst-'));
          const after = sampleProc(ingestor.pid!);
          const cpu = cpuBetween(before, after);
          const wall = (d.lastDoneMs - d.firstSendMs) / 1000;
          live.push(rate(d));
          usLive.push((cpu * 1e6) / d.done);
          console.log(`  ${peer.name} live ${r + 1}: ${fmt(rate(d))} readings/s stored, lost ${d.lost}; ingestor ${fmt((cpu * 1e6) / d.done, 1)} us CPU per reading, busy ${fmt((100 * cpu) / wall)} % of ${fmt(wall, 1)} s; load generator cpu ${fmt(d.generatorCpuSeconds, 1)} s`);

          process.kill(ingestor.pid!, 'SIGSTOP');
          let resumedAt = 0;
          let atResume: ReturnType<typeof sampleProc>;
          let b: LoadResult;
          try {
            b = await runLoad({ ...burst('burst-'), onPublished: () => {
              atResume = sampleProc(ingestor.pid!);
              resumedAt = Date.now();
              process.kill(ingestor.pid!, 'SIGCONT');
            } });
          } finally {
            process.kill(ingestor.pid!, 'SIGCONT');
          }
          const end = sampleProc(ingestor.pid!);
          const bCpu = cpuBetween(atResume, end);
          const drain = (b.lastDoneMs - resumedAt) / 1000;
          const bRate = b.done / drain;
          backlog.push(bRate);
          usBacklog.push((bCpu * 1e6) / b.done);
          console.log(`  ${peer.name} backlog ${r + 1}: ${fmt(b.done)} readings (${fmt(b.sentPoints)} points) queued, stored and confirmed in ${fmt(drain, 1)} s after the resume = ${fmt(bRate)} readings/s, lost ${b.lost}; ingestor ${fmt((bCpu * 1e6) / b.done, 1)} us CPU per reading, busy ${fmt((100 * bCpu) / drain)} %`);
        }
      } finally {
        await ingestor.stop();
      }
      if (peer.name === 'influxd') goalRate = median(backlog);
      summary.push(`${peer.name}: backlog ${fmt(median(backlog))} readings/s (${fmt(median(usBacklog), 1)} us CPU each), live ${fmt(median(live))} readings/s (${fmt(median(usLive), 1)} us CPU each)`);
    }
    for (const l of summary) console.log(`ingestor alone behind ${l}`);
    const ok = goalRate >= 30_000;
    console.log(`SUMMARY ingestor alone: ${fmt(goalRate)} readings/s stored behind influxd from a backlog (goal >= 30,000); ${summary.join('; ')}`);
    return { line: ok ? 'GOALS-MET' : 'GOALS-MISSED: ingestor-alone', ok };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
