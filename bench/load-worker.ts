// One load-generator process (forked by load.ts): either a share of the simulated fleet
// ("agents": real MQTT connections with distinct hostnames, each publishing the 13 groups
// with recorded payloads), or the bare subscriber of the Mosquitto baseline ("sink").
//
// IPC, parent -> worker: {type:'connect'} once, {type:'run', startAt} once, {type:'finish'}.
// Worker -> parent: {type:'connected'}, {type:'progress'} every second, {type:'published'}
// when its agents sent everything, {type:'result'} after 'finish'.
import { ReplayWindow, resendAfterMs } from '../agent/outbox/replay-pacing.js';
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
  /** fleet: every agent sends the 13 groups once per interval, `cycles` times, at most MAX_INFLIGHT awaiting their PUBACK (as the agent's publisher; the rest waits at the agent, in order). burst: `burstMessages` each, at most `window` awaiting PUBACK (so lost readings cannot stall it). */
  mode: 'fleet' | 'burst';
  intervalMs: number;
  cycles: number;
  burstMessages: number;
  window: number;
  /** Subscribe to the confirm topic and count confirmations (our pipeline); else only PUBACKs. */
  confirm: boolean;
  /** New connections per second, at most. */
  connectPerSecond: number;
  /**
   * Behave like the agent's outbox (reconnect storm): reconnect with a doubling, jittered
   * backoff from minMs to maxMs; at most MAX_INFLIGHT awaiting their PUBACK (as the agent's
   * publisher: beyond, a reading waits for the replay); a reading not confirmed
   * resendAfterMs after it was sent (doubled per send) or taken while offline is sent
   * again, at most replayPerSecond per agent and as far as its replay window
   * (agent/outbox/replay-pacing.ts, the agent's own) has room.
   */
  resilient?: { minMs: number; maxMs: number; resendAfterMs: number; replayPerSecond: number };
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
  /** Agents with a live connection now. */
  online: number;
  disconnects: number;
  resent: number;
  /** Sample time of the oldest reading not yet confirmed (0: none), resilient mode. */
  oldestUnconfirmedMs: number;
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
  /** Readings sent again (resilient mode). */
  resent: number;
  /** Connect + subscribe time (ms) of each agent, in connect order (the phase's first and last ones give the per-connect cost). */
  connectLatencies: number[];
  /** Sink only: messages received (with duplicates) and distinct hosts seen. */
  received?: number;
  hosts?: number;
}

type FromParent = { type: 'connect' } | { type: 'run'; startAt: number } | { type: 'finish' } | { type: 'config'; config: WorkerConfig };

/** To the parent while it listens (a progress tick after 'finish' must not throw). */
const send = (m: unknown) => {
  if (process.connected) process.send?.(m);
};

/** The agent publisher's default maxInflight (agent/runtime/publisher.ts). */
const MAX_INFLIGHT = 100;

interface SentReading {
  /** Last send time (0: taken while offline, not sent yet). */
  t: number;
  /** Times sent. */
  sends: number;
  /** First send (or sample) time, for latency. */
  first: number;
  body: number;
  sampleTimeMs: number;
  resent: boolean;
}

interface Agent {
  hostname: string;
  phase: number;
  client?: LeanClient;
  seq: number;
  /** seq -> what was sent, until confirmed. */
  sent: Map<number, SentReading>;
  backoffMs: number;
  profile: EncodedProfile;
  next: number;
  burstLeft: number;
  /** resilient: the replayed readings awaiting confirmation, as the agent's replayer keeps them. */
  window: ReplayWindow;
  /** fleet, not resilient: readings taken while MAX_INFLIGHT awaited their PUBACK, sent as PUBACKs come. */
  waiting: { seq: number; body: number; sampleTimeMs: number }[];
}

class Counters {
  sent = 0;
  sentPoints = 0;
  pubacks = 0;
  done = 0;
  duplicates = 0;
  disconnects = 0;
  resent = 0;
  connectFailures = 0;
  readonly connectLatencies: number[] = [];
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
  const agents: Agent[] = cfg.agents.map((a, i) => ({ ...a, seq: 0, sent: new Map(), backoffMs: 0, profile: profiles[i % profiles.length]!, next: 0, burstLeft: cfg.burstMessages, window: new ReplayWindow(), waiting: [] }));
  let connected = 0;
  let finishing = false;
  const online = () => agents.reduce((n, a) => n + (a.client?.connected ? 1 : 0), 0);
  /** A Map iterates in insertion order: each agent's first entry is its oldest unconfirmed reading. */
  const oldest = () => {
    let min = 0;
    for (const a of agents) {
      const first = a.sent.values().next();
      if (!first.done && (min === 0 || first.value.first < min)) min = first.value.first;
    }
    return min;
  };
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
    agent.window.confirmed(ranges);
    for (const [from, to] of ranges) {
      for (let s = from; s <= to; s++) {
        const r = agent.sent.get(s);
        if (r !== undefined) {
          agent.sent.delete(s);
          c.markDone(now, now - r.first);
        } else if (s <= agent.seq && !cfg.resilient) c.duplicates++; // resilient: a re-sent reading may be confirmed twice (stored once: same point)
      }
    }
  };

  const send1 = (agent: Agent, seq: number, body: number, sampleTimeMs: number) => {
    const item = agent.profile.bodies[body]!;
    agent.client!.publish(metricTopic(agent.hostname, item.metric), payload(item.body, { hostname: agent.hostname, system: agent.profile.system, sampleTimeMs, seq, agentVersion: BENCH_AGENT_VERSION }));
  };

  const publishOne = (agent: Agent, now: number) => {
    const body = agent.next;
    const item = agent.profile.bodies[body]!;
    agent.next = (agent.next + 1) % agent.profile.bodies.length;
    const seq = ++agent.seq;
    // burst: many readings of one group per millisecond would overwrite each other in InfluxDB; space their sample times 1 ms apart per host.
    const sampleTimeMs = cfg.mode === 'burst' ? c.firstSendMs + seq : now;
    // As the agent's publisher, nothing beyond MAX_INFLIGHT awaiting PUBACK (burst keeps its own window):
    // the reading waits for the replay (resilient) or for PUBACKs (sendWaiting).
    const room = cfg.mode === 'burst' || (agent.client !== undefined && agent.client.inflight < MAX_INFLIGHT);
    const live = agent.client?.connected === true && room;
    if (live) send1(agent, seq, body, sampleTimeMs);
    else if (agent.client?.connected && !cfg.resilient) agent.waiting.push({ seq, body, sampleTimeMs });
    if (cfg.confirm) agent.sent.set(seq, { t: live ? now : 0, sends: live ? 1 : 0, first: now, body, sampleTimeMs, resent: false });
    c.sent++;
    c.sentPoints += item.points;
    const m = (c.sentByMetric[item.metric] ??= { messages: 0, points: 0 });
    m.messages++;
    m.points += item.points;
  };

  /** fleet: what waited for room in flight goes out as PUBACKs come. */
  const sendWaiting = (agent: Agent) => {
    const client = agent.client;
    if (!client?.connected) return;
    const now = Date.now();
    while (agent.waiting.length && client.inflight < MAX_INFLIGHT) {
      const w = agent.waiting.shift()!;
      send1(agent, w.seq, w.body, w.sampleTimeMs);
      const s = agent.sent.get(w.seq);
      if (s) {
        s.t = now;
        s.sends = 1;
      }
    }
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

  /**
   * resilient: re-send what waited unconfirmed resendAfterMs (doubled per send) or was taken
   * offline, oldest first, at most replayPerSecond per agent and second and as far as the
   * agent's replay window has room, as agent/runtime/replay.ts does.
   */
  const replay = () => {
    const r = cfg.resilient!;
    const now = Date.now();
    for (const a of agents) {
      const client = a.client;
      a.window.expire(now);
      if (!client?.connected) continue;
      let budget = Math.min(r.replayPerSecond, a.window.room);
      for (const [seq, s] of a.sent) {
        if (budget === 0 || client.inflight >= MAX_INFLIGHT) break;
        if (s.t !== 0 && now - s.t < resendAfterMs(r.resendAfterMs, s.sends)) continue;
        send1(a, seq, s.body, s.sampleTimeMs);
        if (s.t !== 0) {
          c.resent++;
          s.resent = true;
        }
        s.t = now;
        s.sends++;
        a.window.sent(seq, now + resendAfterMs(r.resendAfterMs, s.sends));
        budget--;
      }
    }
  };

  const reconnectLater = (agent: Agent) => {
    const r = cfg.resilient!;
    agent.backoffMs = Math.min(r.maxMs, agent.backoffMs ? agent.backoffMs * 2 : r.minMs);
    const wait = agent.backoffMs * (0.5 + Math.random() * 0.5);
    setTimeout(() => {
      if (!finishing) void connectOne(agent, true);
    }, wait).unref();
  };

  const connectOne = async (agent: Agent, again = false) => {
    const t0 = Date.now();
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
          else if (agent.waiting.length) sendWaiting(agent);
        },
        onClose: () => {
          if (agent.client !== client) return;
          if (connected > 0) c.disconnects++;
          // Whenever the connection goes, as the agent's publisher does: also between CONNACK and SUBACK (a broker that starts holds agents), whose subscribe would never settle.
          retry();
        },
      },
    );
    agent.client = client;
    let retried = false;
    const retry = () => {
      if (retried || !cfg.resilient || finishing) return;
      retried = true;
      reconnectLater(agent);
    };
    try {
      await client.connect();
      client.publish(statusTopic(agent.hostname), Buffer.from('online'), true);
      if (cfg.confirm) await client.subscribe(confirmTopic(agent.hostname), 1);
      agent.backoffMs = 0;
      agent.window.reset();
      if (!again) {
        connected++;
        c.connectLatencies.push(Date.now() - t0);
      }
    } catch {
      if (!again) c.connectFailures++;
      client.destroy();
      retry();
    }
  };

  for (;;) {
    const msg = await next();
    if (msg.type === 'connect') {
      const t0 = Date.now();
      const perTick = Math.max(1, Math.round(cfg.connectPerSecond / 20));
      for (let i = 0; i < agents.length; i += perTick) {
        await Promise.all(agents.slice(i, i + perTick).map((a) => connectOne(a)));
        const due = t0 + ((i + perTick) / cfg.connectPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // In burst mode (PUBACK-only) the status "online" PUBACKs are not readings.
      c.pubacks = 0;
      send({ type: 'connected', connected, failures: c.connectFailures });
    } else if (msg.type === 'run') {
      const progress = setInterval(() => {
        send({ type: 'progress', sent: c.sent, pubacks: c.pubacks, done: c.done, perSecond: [...c.perSecond], connected, online: online(), disconnects: c.disconnects, resent: c.resent, oldestUnconfirmedMs: cfg.resilient ? oldest() : 0 } satisfies Progress);
      }, 1000);
      progress.unref();
      if (cfg.resilient) setInterval(replay, 1000).unref();
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
            } else if (cfg.resilient) {
              // Offline: the readings are taken and wait in the outbox.
              for (let i = 0; i < a.profile.bodies.length; i++) publishOne(a, now);
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
      finishing = true;
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
        resent: c.resent,
        connectLatencies: c.connectLatencies,
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
    // A client id of its own per run: a persistent session left from an earlier run would get
    // (and count) what other runs published on the same broker while it was away.
    { host: cfg.host, port: cfg.port, clientId: `machmon-bench-sink-${process.pid}`, username: cfg.username, password: cfg.password, clean: !cfg.persistent, keepaliveSeconds: 600 },
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
      setInterval(() => send({ type: 'progress', sent: 0, pubacks: 0, done: c.done, perSecond: [...c.perSecond], connected: 1, online: 1, disconnects: c.disconnects, resent: 0, oldestUnconfirmedMs: 0 } satisfies Progress), 1000).unref();
    } else if (msg.type === 'finish') {
      send({
        type: 'result', sent: 0, sentPoints: 0, sentByMetric: {}, pubacks: 0, done: c.done, duplicates: c.duplicates, latency: [...c.latency],
        firstSendMs: 0, lastDoneMs: c.lastDoneMs, connectFailures: 0, disconnects: c.disconnects, resent: 0, connectLatencies: [], received, hosts: seen.size,
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
