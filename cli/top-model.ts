// What `machmon top` knows about the fleet (README "The machmon command"): the last status
// and reading of every host seen on machmon/+/+, turned into one row per host. Pure: the
// caller passes the time, so rows are the same for the same messages.
import { decodeMetric, type MetricMessages } from '../common/schema.js';
import { parseTopic } from '../common/topics.js';

/** A temperature at or above this is shown as a problem (°C). */
export const HOT_CELSIUS = 80;
/** Disk usage at or above this is shown as a problem (%). */
export const DISK_FULL_PERCENT = 90;
/** A host online whose last reading is older than this is shown as stale (ms; three default intervals). */
export const STALE_MS = 30_000;
/** Outbox sizes remembered per host to tell a growing backlog. */
const BACKLOG_HISTORY = 3;

interface HostState {
  online?: boolean;
  /** When the status was seen to change; undefined when it came retained (it changed before we watched). */
  statusSinceMs?: number;
  /** When we first saw the status (for "at least this long"). */
  statusSeenMs: number;
  lastReadingMs?: number;
  cpu?: MetricMessages['cpu'];
  mem?: MetricMessages['mem'];
  disk?: MetricMessages['disk'];
  temperature?: MetricMessages['temperature'];
  piHealth?: MetricMessages['piHealth'];
  agentHealth?: MetricMessages['agentHealth'];
  backlog: number[];
}

export interface HostRow {
  host: string;
  /** undefined: readings but no status seen yet. */
  online: boolean | undefined;
  /** How long in that state; `atLeast` when the status was retained (it changed before top started). */
  forMs: number | undefined;
  atLeast: boolean;
  lastReadingAgeMs: number | undefined;
  cpuPercent: number | undefined;
  memPercent: number | undefined;
  diskPercent: number | undefined;
  hottestCelsius: number | undefined;
  /** Raspberry Pi flags (get_throttled): now, and since boot; empty off a Pi. */
  pi: { underVoltage: boolean; throttled: boolean; freqCapped: boolean; softTempLimit: boolean; underVoltageSinceBoot: boolean; throttledSinceBoot: boolean } | undefined;
  outboxMessages: number | undefined;
  backlogGrowing: boolean;
  /** Sample time (header.sampleTimeMs) of the reading each value comes from, to find it in InfluxDB. */
  samples: { cpu?: number; mem?: number; disk?: number; temperature?: number; piHealth?: number; agentHealth?: number };
  /** What is wrong, in words (empty: nothing). */
  problems: string[];
}

export type SortKey = 'host' | 'cpu' | 'temperature' | 'age';
export const SORT_KEYS: Record<string, SortKey> = { h: 'host', c: 'cpu', t: 'temperature', a: 'age' };

const round1 = (n: number) => Math.round(n * 10) / 10;

export class Fleet {
  private readonly hosts = new Map<string, HostState>();

  /** Takes one MQTT message; returns an error text for a message that is not ours to show (bad topic or payload), else undefined. */
  take(topic: string, payload: Uint8Array, nowMs: number, retained = false): string | undefined {
    let parsed;
    try {
      parsed = parseTopic(topic);
    } catch (err) {
      return (err as Error).message;
    }
    if (parsed.kind === 'confirm' || parsed.kind === 'brokerStats') return undefined;
    const h = this.state(parsed.host, nowMs);
    if (parsed.kind === 'status') {
      // An empty retained message clears a retained status: nothing to show.
      if (payload.length === 0) return undefined;
      const text = Buffer.from(payload).toString('utf8').trim();
      if (text !== 'online' && text !== 'offline') return `${topic}: status "${text.slice(0, 40)}" is neither online nor offline`;
      const online = text === 'online';
      if (h.online !== online) {
        h.statusSinceMs = retained ? undefined : nowMs;
        h.statusSeenMs = nowMs;
      }
      h.online = online;
      return undefined;
    }
    const metric = parsed.metric;
    if (metric !== 'cpu' && metric !== 'mem' && metric !== 'disk' && metric !== 'temperature' && metric !== 'piHealth' && metric !== 'agentHealth') {
      h.lastReadingMs = nowMs;
      return undefined;
    }
    try {
      const m = decodeMetric(metric, payload);
      h.lastReadingMs = nowMs;
      switch (metric) {
        case 'cpu': h.cpu = m as MetricMessages['cpu']; break;
        case 'mem': h.mem = m as MetricMessages['mem']; break;
        case 'disk': h.disk = m as MetricMessages['disk']; break;
        case 'temperature': h.temperature = m as MetricMessages['temperature']; break;
        case 'piHealth': h.piHealth = m as MetricMessages['piHealth']; break;
        case 'agentHealth': {
          const a = m as MetricMessages['agentHealth'];
          h.agentHealth = a;
          if (a.outboxMessages !== undefined && a.outboxMessages !== null) h.backlog = [...h.backlog, Number(a.outboxMessages)].slice(-BACKLOG_HISTORY);
          break;
        }
      }
      return undefined;
    } catch (err) {
      return `${topic}: not a valid ${metric} message: ${(err as Error).message}`;
    }
  }

  private state(host: string, nowMs: number): HostState {
    let h = this.hosts.get(host);
    if (!h) {
      h = { statusSeenMs: nowMs, backlog: [] };
      this.hosts.set(host, h);
    }
    return h;
  }

  get size(): number {
    return this.hosts.size;
  }

  /** Has every online host sent CPU, memory and disk (what --once waits for)? */
  complete(): boolean {
    return [...this.hosts.values()].every((h) => h.online === false || (h.cpu && h.mem && h.disk));
  }

  rows(nowMs: number): HostRow[] {
    return [...this.hosts.entries()].map(([host, h]) => row(host, h, nowMs));
  }
}

function row(host: string, h: HostState, nowMs: number): HostRow {
  const num = (v: number | null | undefined) => (v === undefined || v === null ? undefined : Number(v));
  const idle = num(h.cpu?.idlePercent);
  const total = num(h.mem?.totalMemKb);
  const used = num(h.mem?.usedMemKb);
  const temps = (h.temperature?.rows ?? []).map((r) => num(r.degreesCelsius)).filter((v): v is number => v !== undefined);
  const p = h.piHealth;
  const flag = (v: number | null | undefined) => num(v) === 1;
  const pi = p && p.throttledRaw !== undefined && p.throttledRaw !== null
    ? { underVoltage: flag(p.underVoltageNow), throttled: flag(p.throttledNow), freqCapped: flag(p.freqCappedNow), softTempLimit: flag(p.softTempLimitNow), underVoltageSinceBoot: flag(p.underVoltageSinceBoot), throttledSinceBoot: flag(p.throttledSinceBoot) }
    : undefined;
  const b = h.backlog;
  const backlogGrowing = b.length === BACKLOG_HISTORY && b.every((v, i) => i === 0 || v > b[i - 1]!);
  const r: HostRow = {
    host,
    online: h.online,
    forMs: h.online === undefined ? undefined : nowMs - (h.statusSinceMs ?? h.statusSeenMs),
    atLeast: h.statusSinceMs === undefined,
    lastReadingAgeMs: h.lastReadingMs === undefined ? undefined : nowMs - h.lastReadingMs,
    cpuPercent: idle === undefined ? undefined : round1(100 - idle),
    memPercent: total && used !== undefined ? round1((used / total) * 100) : undefined,
    diskPercent: num(h.disk?.usagePercent),
    hottestCelsius: temps.length ? Math.max(...temps) : undefined,
    pi,
    outboxMessages: num(h.agentHealth?.outboxMessages),
    backlogGrowing,
    samples: {
      cpu: num(h.cpu?.header?.sampleTimeMs),
      mem: num(h.mem?.header?.sampleTimeMs),
      disk: num(h.disk?.header?.sampleTimeMs),
      temperature: num(h.temperature?.header?.sampleTimeMs),
      piHealth: num(h.piHealth?.header?.sampleTimeMs),
      agentHealth: num(h.agentHealth?.header?.sampleTimeMs),
    },
    problems: [],
  };
  r.problems = problemsOf(r);
  return r;
}

export function problemsOf(r: HostRow): string[] {
  const out: string[] = [];
  if (r.online === false) out.push('offline');
  if (r.online && r.lastReadingAgeMs !== undefined && r.lastReadingAgeMs > STALE_MS) out.push('no recent reading');
  if (r.pi?.underVoltage) out.push('under-voltage');
  if (r.pi?.throttled) out.push('throttled');
  if (r.hottestCelsius !== undefined && r.hottestCelsius >= HOT_CELSIUS) out.push('hot');
  if (r.diskPercent !== undefined && r.diskPercent >= DISK_FULL_PERCENT) out.push('disk full');
  if (r.backlogGrowing) out.push('backlog growing');
  return out;
}

/** Host: by name; CPU and temperature: highest first; age: oldest first. Missing values last; ties by name. */
export function sortRows(rows: readonly HostRow[], key: SortKey, reverse = false): HostRow[] {
  const value = (r: HostRow): number | undefined => (key === 'cpu' ? r.cpuPercent : key === 'temperature' ? r.hottestCelsius : key === 'age' ? r.lastReadingAgeMs : undefined);
  const sorted = [...rows].sort((a, b) => {
    if (key !== 'host') {
      const va = value(a);
      const vb = value(b);
      if (va === undefined && vb !== undefined) return 1;
      if (vb === undefined && va !== undefined) return -1;
      if (va !== undefined && vb !== undefined && va !== vb) return vb - va;
    }
    return a.host.localeCompare(b.host);
  });
  return reverse ? sorted.reverse() : sorted;
}
