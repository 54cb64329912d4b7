// Accounting of the fault suite: which readings each agent sampled (its own debug line
// "reading recorded" per reading: seq, metric, sample time) against what InfluxDB holds.
//
// The ingestor does not store the seq; a point's identity is (host, measurement, sample
// time): the point time IS the header's sampleTimeMs, which is what makes a re-sent reading
// overwrite itself. So a sampled reading is "stored" when its host has points in its
// measurement at its sample time, and a duplicate is a stored reading no sampled one
// explains (the same reading stored twice would have to land at another time).
import { metricSpec, isMetricName } from '../../../common/schema.js';

export interface SampledReading {
  readonly host: string;
  readonly seq: number;
  readonly metric: string;
  readonly sampleTimeMs: number;
}

/** Points of one host in one measurement at one time (one stored reading). */
export interface StoredReading {
  readonly host: string;
  readonly measurement: string;
  readonly timeMs: number;
  readonly rows: number;
}

export interface HostTotals {
  readonly host: string;
  /** Readings the agent sampled (logged, plus those stored whose line a kill -9 cut off). */
  readonly sampled: number;
  /** Sampled readings found in InfluxDB. */
  readonly stored: number;
  /** Stored readings no sampled reading explains. */
  readonly duplicates: number;
  /** Sampled, not stored, not held in the outbox. */
  readonly lost: number;
  /** Sampled, not stored yet, still in the stopped agent's outbox (sent at its next start). */
  readonly held: number;
  /** Stored readings sampled in the last moments before a kill -9, whose log line died with the process. */
  readonly unlogged: number;
  readonly lostSeqs: readonly number[];
  /** Up to 10 unexplained stored readings, for the failure message. */
  readonly duplicateExamples: readonly string[];
}

export interface ReconcileOptions {
  /** Moments (ms) each host's agent was killed with SIGKILL. */
  readonly kills?: ReadonlyMap<string, readonly number[]>;
  /** A stored reading this long (ms) before a kill, unlogged, counts as sampled. */
  readonly killWindowMs?: number;
  /** Seqs each host still holds in its outbox at the end. */
  readonly held?: ReadonlyMap<string, ReadonlySet<number>>;
}

export function measurementOf(metric: string): string {
  if (!isMetricName(metric)) throw new Error(`ledger: "${metric}" is not a metric name`);
  return metricSpec(metric).measurement;
}

const key = (measurement: string, timeMs: number) => `${measurement}@${timeMs}`;

/** Totals per host, for every host that sampled or stored anything, sorted by host. */
export function reconcile(sampled: readonly SampledReading[], stored: readonly StoredReading[], opts: ReconcileOptions = {}): HostTotals[] {
  const hosts = [...new Set([...sampled.map((s) => s.host), ...stored.map((s) => s.host)])].sort();
  const window = opts.killWindowMs ?? 5000;
  return hosts.map((host) => {
    const mine = sampled.filter((s) => s.host === host);
    const storedKeys = new Set(stored.filter((s) => s.host === host).map((s) => key(s.measurement, s.timeMs)));
    const held = opts.held?.get(host) ?? new Set<number>();
    const kills = opts.kills?.get(host) ?? [];
    const bySeq = new Map<number, SampledReading>();
    for (const s of mine) bySeq.set(s.seq, s);
    const explained = new Set<string>();
    let storedCount = 0;
    let heldCount = 0;
    const lostSeqs: number[] = [];
    for (const s of [...bySeq.values()].sort((a, b) => a.seq - b.seq)) {
      const k = key(measurementOf(s.metric), s.sampleTimeMs);
      // Two readings of one metric at one time would be one point: the second is lost.
      if (!explained.has(k) && storedKeys.has(k)) {
        explained.add(k);
        storedCount++;
      } else if (held.has(s.seq)) heldCount++;
      else lostSeqs.push(s.seq);
    }
    let unlogged = 0;
    const duplicateExamples: string[] = [];
    let duplicates = 0;
    for (const s of stored) {
      if (s.host !== host || explained.has(key(s.measurement, s.timeMs))) continue;
      if (kills.some((t) => s.timeMs <= t && s.timeMs > t - window)) unlogged++;
      else {
        duplicates++;
        if (duplicateExamples.length < 10) duplicateExamples.push(`${s.measurement} at ${new Date(s.timeMs).toISOString()} (${s.rows} rows)`);
      }
    }
    return {
      host,
      sampled: bySeq.size + unlogged,
      stored: storedCount + unlogged,
      duplicates,
      lost: lostSeqs.length,
      held: heldCount,
      unlogged,
      lostSeqs,
      duplicateExamples,
    };
  });
}

/** Sums of the per-host totals. */
export function sumTotals(rows: readonly HostTotals[]): Omit<HostTotals, 'host' | 'lostSeqs' | 'duplicateExamples'> {
  const sum = (f: (r: HostTotals) => number) => rows.reduce((n, r) => n + f(r), 0);
  return {
    sampled: sum((r) => r.sampled),
    stored: sum((r) => r.stored),
    duplicates: sum((r) => r.duplicates),
    lost: sum((r) => r.lost),
    held: sum((r) => r.held),
    unlogged: sum((r) => r.unlogged),
  };
}

/** Pulls the agent's "reading recorded" debug lines out of its JSON log lines. */
export function sampledFromLog(host: string, lines: Iterable<string>): SampledReading[] {
  const out: SampledReading[] = [];
  for (const line of lines) {
    if (!line.includes('"reading recorded"')) continue;
    let o: { msg?: unknown; seq?: unknown; metric?: unknown; sampleTimeMs?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      continue; // a line cut by kill -9
    }
    if (o.msg === 'reading recorded' && typeof o.seq === 'number' && typeof o.metric === 'string' && typeof o.sampleTimeMs === 'number') {
      out.push({ host, seq: o.seq, metric: o.metric, sampleTimeMs: o.sampleTimeMs });
    }
  }
  return out;
}
