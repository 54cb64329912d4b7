// The load generator: forks worker processes (load-worker.ts) that each hold a share of the
// simulated fleet, drives them through connect / run / drain / finish, and merges what
// they counted. One Node process tops out near 25k QoS 1 messages/s here, and the broker
// under test needs the other core, so the fleet is split over `workers` processes.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { merge, type Histogram } from './histogram.js';
import type { AgentsConfig, Progress, WorkerConfig, WorkerResult } from './load-worker.js';
import { sampleProc, type ProcSample } from './procs.js';
import { DIST_BENCH } from './repo.js';

export interface LoadOptions {
  host?: string;
  port: number;
  password: string;
  /** Hostname prefix; agents are <prefix>00001... */
  prefix: string;
  agents: number;
  workers: number;
  mode: 'fleet' | 'burst';
  intervalMs?: number;
  cycles?: number;
  burstMessages?: number;
  window?: number;
  /** Our pipeline: count confirmations on machmon/<host>/confirm/stored. */
  confirm: boolean;
  /** Bare pub/sub baseline: one subscriber to machmon/+/+ that counts what arrives. */
  sink?: { username?: string; password?: string; persistent?: boolean };
  connectPerSecond?: number;
  /** Agents that reconnect and re-send like the real agent's outbox (reconnect storm). */
  resilient?: AgentsConfig['resilient'];
  /** Run at least this long (ms) after the last publish before draining ends (lets a test kill and restart the broker mid-run). */
  minDrainMs?: number;
  /** After the last publish, wait at most this long for everything to be confirmed / received. */
  drainTimeoutMs?: number;
  /** Give up draining when nothing new arrived for this long. */
  stallMs?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Called once every reading was published (before the drain), e.g. to let a stopped reader go on. */
  onPublished?: () => void;
  /** Progress ticks every this many ms (default 5000). */
  progressEveryMs?: number;
}

export interface LoadProgress {
  sent: number;
  done: number;
  elapsedMs: number;
  /** Agents connected now. */
  online: number;
  resent: number;
  /** Sample time of the oldest reading not yet confirmed at any agent (0: none; resilient mode). */
  oldestUnconfirmedMs: number;
}

export interface LoadResult {
  agents: number;
  connected: number;
  connectFailures: number;
  connectMs: number;
  startAt: number;
  publishedAt: number;
  sent: number;
  sentPoints: number;
  sentByMetric: Record<string, { messages: number; points: number }>;
  /** Distinct readings confirmed stored (pipeline) or received (baseline). */
  done: number;
  duplicates: number;
  lost: number;
  latency: Histogram;
  perSecond: Map<number, number>;
  firstSendMs: number;
  lastDoneMs: number;
  disconnects: number;
  resent: number;
  /** Connect + subscribe time of every agent (ms), in connect order, all workers interleaved. */
  connectLatencies: number[];
  /** CPU seconds and peak RSS of the generator's own processes. */
  generatorCpuSeconds: number;
}

interface Worker {
  proc: ChildProcess;
  progress?: Progress;
  waiters: Map<string, (m: unknown) => void>;
  first?: ProcSample;
}

function forkWorker(config: WorkerConfig): Worker {
  const proc = fork(path.join(DIST_BENCH, 'load-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
  const w: Worker = { proc, waiters: new Map() };
  proc.on('message', (m: { type: string }) => {
    if (m.type === 'progress') w.progress = m as Progress;
    const waiter = w.waiters.get(m.type);
    if (waiter) {
      w.waiters.delete(m.type);
      waiter(m);
    }
  });
  proc.send({ type: 'config', config });
  return w;
}

function waitFor<T>(w: Worker, type: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`load worker ${w.proc.pid}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`load worker ${w.proc.pid} exited (${code}) while waiting for "${type}"`));
    w.proc.once('exit', onExit);
    w.waiters.set(type, (m) => {
      clearTimeout(t);
      w.proc.off('exit', onExit);
      resolve(m as T);
    });
  });
}

export const hostnameOf = (prefix: string, i: number) => `${prefix}${String(i + 1).padStart(5, '0')}`;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const host = o.host ?? '127.0.0.1';
  const workers: Worker[] = [];
  const all: Worker[] = [];
  let sink: Worker | undefined;
  try {
    if (o.sink) {
      sink = forkWorker({ role: 'sink', host, port: o.port, ...o.sink });
      all.push(sink);
    }
    const nw = Math.max(1, Math.min(o.workers, o.agents));
    for (let wi = 0; wi < nw; wi++) {
      const agents: { hostname: string; phase: number }[] = [];
      for (let i = wi; i < o.agents; i += nw) agents.push({ hostname: hostnameOf(o.prefix, i), phase: i / o.agents });
      const w = forkWorker({
        role: 'agents',
        host,
        port: o.port,
        password: o.password,
        agents,
        mode: o.mode,
        intervalMs: o.intervalMs ?? 10_000,
        cycles: o.cycles ?? 1,
        burstMessages: o.burstMessages ?? 0,
        window: o.window ?? 10,
        confirm: o.confirm,
        connectPerSecond: Math.max(1, Math.round((o.connectPerSecond ?? 2000) / nw)),
        ...(o.resilient ? { resilient: o.resilient } : {}),
      });
      workers.push(w);
      all.push(w);
    }
    for (const w of all) w.first = sampleProc(w.proc.pid!);

    const t0 = Date.now();
    // The embedded broker admits ~135 connections/s here (each stores a session in LevelDB): allow 30 ms per agent.
    const connectTimeout = 60_000 + o.agents * 30;
    const connectedAll = await Promise.all(all.map(async (w) => {
      const p = waitFor<{ connected: number; failures: number }>(w, 'connected', connectTimeout);
      w.proc.send({ type: 'connect' });
      return p;
    }));
    const connectMs = Date.now() - t0;
    const agentCounts = connectedAll.slice(sink ? 1 : 0);
    const connected = agentCounts.reduce((s, c) => s + c.connected, 0);
    const connectFailures = agentCounts.reduce((s, c) => s + c.failures, 0);

    const startAt = Date.now() + 1000;
    const runMs = o.mode === 'fleet' ? (o.cycles ?? 1) * (o.intervalMs ?? 10_000) : 120_000;
    const published = Promise.all(workers.map((w) => waitFor<{ sent: number }>(w, 'published', runMs + 60_000)));
    for (const w of all) w.proc.send({ type: 'run', startAt });
    const progressTimer = setInterval(() => {
      const sent = workers.reduce((s, w) => s + (w.progress?.sent ?? 0), 0);
      const done = (sink ? sink.progress?.done ?? 0 : workers.reduce((s, w) => s + (w.progress?.done ?? 0), 0));
      const online = workers.reduce((s, w) => s + (w.progress?.online ?? 0), 0);
      const resent = workers.reduce((s, w) => s + (w.progress?.resent ?? 0), 0);
      const olds = workers.map((w) => w.progress?.oldestUnconfirmedMs ?? 0).filter((x) => x > 0);
      o.onProgress?.({ sent, done, elapsedMs: Date.now() - startAt, online, resent, oldestUnconfirmedMs: olds.length ? Math.min(...olds) : 0 });
    }, o.progressEveryMs ?? 5000);
    const sentTotal = (await published).reduce((s, p) => s + p.sent, 0);
    const publishedAt = Date.now();
    o.onPublished?.();

    // Drain: until everything is done, nothing moved for stallMs, or the drain timeout.
    const drainDeadline = Date.now() + (o.drainTimeoutMs ?? 60_000);
    let lastDone = -1;
    let lastMove = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const done = sink ? sink.progress?.done ?? 0 : workers.reduce((s, w) => s + (w.progress?.done ?? 0), 0);
      if (done !== lastDone) {
        lastDone = done;
        lastMove = Date.now();
      }
      const sentNow = workers.reduce((s, w) => s + (w.progress?.sent ?? 0), 0);
      if (Date.now() - publishedAt < (o.minDrainMs ?? 0)) continue;
      if (done >= Math.max(sentTotal, sentNow) || Date.now() > drainDeadline || Date.now() - lastMove > (o.stallMs ?? 15_000)) break;
    }
    clearInterval(progressTimer);
    // One more progress round, then the results.
    await new Promise((r) => setTimeout(r, 1100));
    const results = await Promise.all(all.map(async (w) => {
      const last = sampleProc(w.proc.pid!);
      const p = waitFor<WorkerResult>(w, 'result', 30_000);
      w.proc.send({ type: 'finish' });
      return { r: await p, cpu: last && w.first ? last.cpuSeconds - w.first.cpuSeconds : 0 };
    }));
    const agentResults = results.slice(sink ? 1 : 0).map((x) => x.r);
    const doneSide = sink ? [results[0]!.r] : agentResults;
    const latency: Histogram = new Map();
    const perSecond = new Map<number, number>();
    for (const r of doneSide) merge(latency, r.latency);
    for (const w of sink ? [sink] : workers) for (const [s, n] of w.progress?.perSecond ?? []) perSecond.set(s, (perSecond.get(s) ?? 0) + n);
    const sentByMetric: LoadResult['sentByMetric'] = {};
    for (const r of agentResults) {
      for (const [m, v] of Object.entries(r.sentByMetric)) {
        const t = (sentByMetric[m] ??= { messages: 0, points: 0 });
        t.messages += v.messages;
        t.points += v.points;
      }
    }
    const done = doneSide.reduce((s, r) => s + r.done, 0);
    return {
      agents: o.agents,
      connected,
      connectFailures,
      connectMs,
      startAt,
      publishedAt,
      sent: sentTotal,
      sentPoints: agentResults.reduce((s, r) => s + r.sentPoints, 0),
      sentByMetric,
      done,
      duplicates: doneSide.reduce((s, r) => s + r.duplicates, 0),
      lost: sentTotal - done,
      latency,
      perSecond,
      firstSendMs: Math.min(...agentResults.map((r) => r.firstSendMs || Infinity)),
      lastDoneMs: Math.max(...doneSide.map((r) => r.lastDoneMs)),
      disconnects: agentResults.reduce((s, r) => s + r.disconnects, 0),
      resent: agentResults.reduce((s, r) => s + r.resent, 0),
      connectLatencies: interleave(agentResults.map((r) => r.connectLatencies)),
      generatorCpuSeconds: results.reduce((s, x) => s + x.cpu, 0),
    };
  } finally {
    for (const w of all) {
      if (w.proc.exitCode === null) {
        const exited = new Promise((r) => w.proc.once('exit', r));
        setTimeout(() => w.proc.kill('SIGKILL'), 5000).unref();
        await Promise.race([exited, new Promise((r) => setTimeout(r, 6000))]);
      }
    }
  }
}

/** Sustained rate: readings done per second over the whole seconds of [fromMs, toMs). */
export function sustainedRate(perSecond: Map<number, number>, fromMs: number, toMs: number): number {
  const a = Math.ceil(fromMs / 1000);
  const b = Math.floor(toMs / 1000);
  if (b <= a) return NaN;
  let n = 0;
  for (let s = a; s < b; s++) n += perSecond.get(s) ?? 0;
  return n / (b - a);
}

/** Merges per-worker lists in connect order (workers connect in parallel, so the i-th of each are neighbours in time). */
function interleave(lists: number[][]): number[] {
  const out: number[] = [];
  const n = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < n; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}
