// One load-generator process (forked by load.ts): either a share of the simulated fleet
// ("agents": real MQTT connections with distinct hostnames, each publishing the 13 groups
// with recorded payloads), or the bare subscriber of the Mosquitto baseline ("sink").
//
// IPC, parent -> worker: {type:'connect'} once, {type:'run', startAt} once, {type:'finish'}.
// Worker -> parent: {type:'connected'}, {type:'progress'} every second, {type:'published'}
// when its agents sent everything, {type:'result'} after 'finish'.
import { decodeConfirm } from '../common/confirm.js';
import { confirmTopic, INGEST_SUBSCRIPTION, metricTopic, statusTopic } from '../common/topics.js';
import { record, type Histogram } from './histogram.js';
import { LeanClient } from './lean-mqtt.js';
import { BENCH_AGENT_VERSION, encodedProfiles, payload, readHeader, type EncodedProfile } from './payloads.js';

export interface AgentsConfig {
  role: 'agents';
  host: string;
  port: number;
  password: string;
  /** Hostnames of this worker's agents, with their phase (0..1) within the interval. */
  agents: { hostname: string; phase: number }[];
  /** fleet: every agent sends the 13 groups once per interval, `cycles` times. burst: `burstMessages` each, at most `window` awaiting PUBACK (so lost readings cannot stall it). */
  mode: 'fleet' | 'burst';
  intervalMs: number;
  cycles: number;
  burstMessages: number;
  window: number;
  /** Subscribe to the confirm topic and count confirmations (our pipeline); else only PUBACKs. */
  confirm: boolean;
  /** New connections per second, at most. */
  connectPerSecond: number;
}

export interface SinkConfig {
  role: 'sink';
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Persistent session (clean: false), as the ingestor has. */
  persistent?: boolean;
}

export type WorkerConfig = AgentsConfig | SinkConfig;

export interface Progress {
  type: 'progress';
  sent: number;
  pubacks: number;
  /** Readings confirmed stored (agents) or received (sink), distinct. */
  done: number;
  /** Distinct readings done per wall-clock second (epoch second -> count). */
  perSecond: [number, number][];
  connected: number;
  disconnects: number;
}

export interface WorkerResult {
  type: 'result';
  sent: number;
  sentPoints: number;
  /** Sent per metric (messages and points), for the InfluxDB count check. */
  sentByMetric: Record<string, { messages: number; points: number }>;
  pubacks: number;
  done: number;
  duplicates: number;
  latency: [number, number][];
  firstSendMs: number;
  lastDoneMs: number;
  connectFailures: number;
  disconnects: number;
  /** Sink only: messages received (with duplicates) and distinct hosts seen. */
  received?: number;
  hosts?: number;
}

type FromParent = { type: 'connect' } | { type: 'run'; startAt: number } | { type: 'finish' } | { type: 'config'; config: WorkerConfig };

/** To the parent while it listens (a progress tick after 'finish' must not throw). */
const send = (m: unknown) => {
  if (process.connected) process.send?.(m);
};

interface Agent {
  hostname: string;
  phase: number;
  client?: LeanClient;
  seq: number;
  /** seq -> send time, until confirmed. */
  sent: Map<number, number>;
  profile: EncodedProfile;
  next: number;
  burstLeft: number;
}

class Counters {
  sent = 0;
  sentPoints = 0;
  pubacks = 0;
  done = 0;
  duplicates = 0;
  disconnects = 0;
  connectFailures = 0;
  firstSendMs = 0;
  lastDoneMs = 0;
  readonly latency: Histogram = new Map();
  readonly perSecond = new Map<number, number>();
  readonly sentByMetric: Record<string, { messages: number; points: number }> = {};

  markDone(now: number, latencyMs: number | undefined) {
    this.done++;
    this.lastDoneMs = now;
    const s = Math.floor(now / 1000);
    this.perSecond.set(s, (this.perSecond.get(s) ?? 0) + 1);
    if (latencyMs !== undefined) record(this.latency, latencyMs);
  }
}

async function runAgents(cfg: AgentsConfig, next: () => Promise<FromParent>) {
  const c = new Counters();
  const profiles = encodedProfiles();
  const agents: Agent[] = cfg.agents.map((a, i) => ({ ...a, seq: 0, sent: new Map(), profile: profiles[i % profiles.length]!, next: 0, burstLeft: cfg.burstMessages }));
  let connected = 0;
  let published = false;
  let running = false;

  const onConfirm = (agent: Agent, buf: Buffer) => {
    const now = Date.now();
    let ranges;
    try {
      ranges = decodeConfirm(buf);
    } catch {
      return;
    }
    for (const [from, to] of ranges) {
      for (let s = from; s <= to; s++) {
        const t = agent.sent.get(s);
        if (t !== undefined) {
          agent.sent.delete(s);
          c.markDone(now, now - t);
        } else if (s <= agent.seq) c.duplicates++;
      }
    }
  };

  const publishOne = (agent: Agent, now: number) => {
    const client = agent.client!;
    const item = agent.profile.bodies[agent.next]!;
    agent.next = (agent.next + 1) % agent.profile.bodies.length;
    const seq = ++agent.seq;
    // burst: many readings of one group per millisecond would overwrite each other in InfluxDB; space their sample times 1 ms apart per host.
    const sampleTimeMs = cfg.mode === 'burst' ? c.firstSendMs + seq : now;
    client.publish(metricTopic(agent.hostname, item.metric), payload(item.body, { hostname: agent.hostname, system: agent.profile.system, sampleTimeMs, seq, agentVersion: BENCH_AGENT_VERSION }));
    if (cfg.confirm) agent.sent.set(seq, now);
    c.sent++;
    c.sentPoints += item.points;
    const m = (c.sentByMetric[item.metric] ??= { messages: 0, points: 0 });
    m.messages++;
    m.points += item.points;
  };

  /** burst: keep `window` readings awaiting their PUBACK (the broker's flow control, for both targets). */
  const sendBurst = (agent: Agent) => {
    const client = agent.client;
    if (!client?.connected) return;
    const outstanding = client.inflight;
    const now = Date.now();
    let n = Math.min(cfg.window - outstanding, agent.burstLeft);
    if (n <= 0) return;
    agent.burstLeft -= n;
    client.socket.cork();
    while (n-- > 0) publishOne(agent, now);
    process.nextTick(() => client.socket.uncork());
  };

  const connectOne = async (agent: Agent) => {
    const client = new LeanClient(
      {
        host: cfg.host,
        port: cfg.port,
        clientId: `machmon-agent-${agent.hostname}`,
        username: agent.hostname,
        password: cfg.password,
        clean: true,
        keepaliveSeconds: 600,
        will: { topic: statusTopic(agent.hostname), payload: Buffer.from('offline'), qos: 1, retain: true },
      },
      {
        onMessage: (_topic, buf) => onConfirm(agent, buf),
        onPuback: () => {
          c.pubacks++;
          if (running && cfg.mode === 'burst') sendBurst(agent);
        },
        onClose: () => {
          if (agent.client === client && connected > 0) c.disconnects++;
        },
      },
    );
    agent.client = client;
    try {
      await client.connect();
      client.publish(statusTopic(agent.hostname), Buffer.from('online'), true);
      if (cfg.confirm) await client.subscribe(confirmTopic(agent.hostname), 1);
      connected++;
    } catch {
      c.connectFailures++;
      client.destroy();
    }
  };

  for (;;) {
    const msg = await next();
    if (msg.type === 'connect') {
      const t0 = Date.now();
      const perTick = Math.max(1, Math.round(cfg.connectPerSecond / 20));
      for (let i = 0; i < agents.length; i += perTick) {
        await Promise.all(agents.slice(i, i + perTick).map(connectOne));
        const due = t0 + ((i + perTick) / cfg.connectPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // In burst mode (PUBACK-only) the status "online" PUBACKs are not readings.
      c.pubacks = 0;
      send({ type: 'connected', connected, failures: c.connectFailures });
    } else if (msg.type === 'run') {
      const progress = setInterval(() => {
        send({ type: 'progress', sent: c.sent, pubacks: c.pubacks, done: c.done, perSecond: [...c.perSecond], connected, disconnects: c.disconnects } satisfies Progress);
      }, 1000);
      progress.unref();
      const wait = msg.startAt - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      c.firstSendMs = Date.now();
      running = true;
      if (cfg.mode === 'burst') {
        for (const a of agents) sendBurst(a);
        const poll = setInterval(() => {
          if (agents.every((a) => a.burstLeft === 0 || !a.client?.connected)) {
            clearInterval(poll);
            published = true;
            send({ type: 'published', sent: c.sent });
          }
        }, 50);
      } else {
        // Round robin by phase: agent i is due at startAt + phase*interval + k*interval.
        const order = [...agents].sort((a, b) => a.phase - b.phase);
        let k = 0;
        let idx = 0;
        const tick = setInterval(() => {
          const now = Date.now();
          while (k < cfg.cycles) {
            const a = order[idx]!;
            if (msg.startAt + (a.phase + k) * cfg.intervalMs > now) break;
            if (a.client?.connected) {
              a.client.socket.cork();
              for (let i = 0; i < a.profile.bodies.length; i++) publishOne(a, now);
              const client = a.client;
              process.nextTick(() => client.socket.uncork());
            }
            idx++;
            if (idx === order.length) {
              idx = 0;
              k++;
            }
          }
          if (k >= cfg.cycles && !published) {
            clearInterval(tick);
            published = true;
            send({ type: 'published', sent: c.sent });
          }
        }, 5);
      }
    } else if (msg.type === 'finish') {
      send({
        type: 'result',
        sent: c.sent,
        sentPoints: c.sentPoints,
        sentByMetric: c.sentByMetric,
        pubacks: c.pubacks,
        done: c.done,
        duplicates: c.duplicates,
        latency: [...c.latency],
        firstSendMs: c.firstSendMs,
        lastDoneMs: c.lastDoneMs,
        connectFailures: c.connectFailures,
        disconnects: c.disconnects,
      } satisfies WorkerResult);
      await Promise.all(agents.map((a) => a.client?.end()));
      return;
    }
  }
}

async function runSink(cfg: SinkConfig, next: () => Promise<FromParent>) {
  const c = new Counters();
  const seen = new Map<string, Set<number>>();
  let received = 0;
  const client = new LeanClient(
    { host: cfg.host, port: cfg.port, clientId: 'machmon-bench-sink', username: cfg.username, password: cfg.password, clean: !cfg.persistent, keepaliveSeconds: 600 },
    {
      onMessage: (topic, buf) => {
        if (topic.endsWith('/status')) return;
        received++;
        const h = readHeader(buf);
        if (!h?.hostname || h.seq === undefined || h.seq === null) return;
        const seq = Number(h.seq);
        let set = seen.get(h.hostname);
        if (!set) seen.set(h.hostname, (set = new Set()));
        if (set.has(seq)) {
          c.duplicates++;
          return;
        }
        set.add(seq);
        const now = Date.now();
        c.markDone(now, h.sampleTimeMs ? now - Number(h.sampleTimeMs) : undefined);
      },
    },
  );
  await client.connect();
  await client.subscribe(INGEST_SUBSCRIPTION, 1);
  for (;;) {
    const msg = await next();
    if (msg.type === 'connect') send({ type: 'connected', connected: 1, failures: 0 });
    else if (msg.type === 'run') {
      setInterval(() => send({ type: 'progress', sent: 0, pubacks: 0, done: c.done, perSecond: [...c.perSecond], connected: 1, disconnects: c.disconnects } satisfies Progress), 1000).unref();
    } else if (msg.type === 'finish') {
      send({
        type: 'result', sent: 0, sentPoints: 0, sentByMetric: {}, pubacks: 0, done: c.done, duplicates: c.duplicates, latency: [...c.latency],
        firstSendMs: 0, lastDoneMs: c.lastDoneMs, connectFailures: 0, disconnects: c.disconnects, received, hosts: seen.size,
      } satisfies WorkerResult);
      await client.end();
      return;
    }
  }
}

/** Entry point when forked: messages from the parent drive the worker. */
async function main() {
  const queue: FromParent[] = [];
  let wake: (() => void) | undefined;
  process.on('message', (m: FromParent) => {
    queue.push(m);
    wake?.();
  });
  const next = async (): Promise<FromParent> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
  const first = await next();
  if (first.type !== 'config') throw new Error('load worker: first message must be the config');
  if (first.config.role === 'sink') await runSink(first.config, next);
  else await runAgents(first.config, next);
  process.disconnect?.();
}

if (process.send) {
  main().catch((err: unknown) => {
    console.error('load worker failed:', err);
    process.exit(1);
  });
}
