// One process of the outage benchmark (forked by outage.ts): a share of the simulated fleet,
// each agent the real agent runtime (startAgent: outbox on disk, MQTT with backoff,
// confirmations, bounded replay) with cheap collectors that return the recorded readings
// of bench/payloads instead of reading this machine.
//
// IPC, parent -> worker: {type:'start', config}, {type:'freeze'} (collectors stop giving
// readings; the agents keep sending what they hold), {type:'finish'}.
// Worker -> parent: {type:'started'}, {type:'progress'} every second, {type:'result'} after
// 'finish' (agents stopped).
import path from 'node:path';
import { startAgent, type AgentService } from '../agent/runtime/agent.js';
import { NoDataError } from '../agent/collectors/types.js';
import type { CollectorTable } from '../agent/runtime/runner.js';
import { loadConfig } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { FLEET_METRICS, loadProfiles } from './record-payloads.js';

export interface OutageWorkerConfig {
  brokerUrl: string;
  password: string;
  hostnames: string[];
  dataDir: string;
  intervalMs: number;
  replayPerSecond: number;
  /** Agents start spread over this many ms (a fleet does not sample in step). */
  spreadMs: number;
}

export interface OutageProgress {
  type: 'progress';
  at: number;
  /** Readings sampled since start (all agents). */
  sampled: number;
  /** Readings held in the outboxes (unconfirmed). */
  held: number;
  /** Sample time of the oldest held reading, over all agents. */
  oldestHeldMs: number | null;
  /** Readings sent by the replay path since start. */
  replayed: number;
  /** Of those, sent again because no confirmation came within confirmTimeoutMs. */
  resent: number;
  dropped: number;
  connected: number;
}

export interface OutageResult {
  type: 'result';
  /** Readings sampled per host and metric. */
  sampled: Record<string, Record<string, number>>;
}

let agents: { host: string; agent: AgentService }[] = [];
const counts: Record<string, Record<string, number>> = {};
let frozen = false;
let progressTimer: NodeJS.Timeout | undefined;

let profile: ReturnType<typeof loadProfiles>[number] | undefined;

function table(host: string): CollectorTable {
  profile ??= loadProfiles().find((p) => p.profile === 'pi4') ?? loadProfiles()[0]!;
  const readings = profile.readings;
  const mine: Record<string, number> = (counts[host] = {});
  return Object.fromEntries(
    FLEET_METRICS.map((metric) => [
      metric,
      {
        defaultEnabled: true,
        create: () => ({
          name: metric,
          collect: async () => {
            if (frozen) throw new NoDataError('benchmark: sampling stopped');
            mine[metric] = (mine[metric] ?? 0) + 1;
            return readings[metric];
          },
        }),
      },
    ]),
  ) as CollectorTable;
}

function progress(): OutageProgress {
  let sampled = 0;
  let held = 0;
  let oldest: number | null = null;
  let replayed = 0;
  let resent = 0;
  let dropped = 0;
  let connected = 0;
  for (const c of Object.values(counts)) for (const n of Object.values(c)) sampled += n;
  for (const { agent } of agents) {
    const s = agent.stats();
    held += s.outbox.messages;
    if (s.outbox.oldestSampleTimeMs !== undefined) oldest = Math.min(oldest ?? Infinity, s.outbox.oldestSampleTimeMs);
    replayed += s.replayedTotal;
    resent += s.resentTotal;
    dropped += s.outbox.droppedTotal;
    if (s.connected) connected++;
  }
  return { type: 'progress', at: Date.now(), sampled, held, oldestHeldMs: oldest, replayed, resent, dropped, connected };
}

async function start(cfg: OutageWorkerConfig): Promise<void> {
  const log = createLogger({ level: 'warn', file: null });
  const gap = cfg.hostnames.length > 1 ? cfg.spreadMs / cfg.hostnames.length : 0;
  for (const host of cfg.hostnames) {
    const config = loadConfig({
      raw: {
        agent: {
          brokerUrl: cfg.brokerUrl,
          hostname: host,
          password: cfg.password,
          system: 'Raspbian',
          intervalMs: cfg.intervalMs,
          // Every group at the same interval; agentHealth off so every reading is one the benchmark counted.
          metrics: { agentHealth: { enabled: false } },
          outbox: { replayPerSecond: cfg.replayPerSecond },
          dataDir: path.join(cfg.dataDir, host),
        },
      },
      sections: ['agent'],
      env: {},
    }).agent!;
    agents.push({ host, agent: await startAgent(config, log, { collectors: table(host) }) });
    await new Promise((r) => setTimeout(r, gap));
  }
  progressTimer = setInterval(() => process.send!(progress()), 1000);
}

process.on('message', (m: { type: string; config?: OutageWorkerConfig }) => {
  switch (m.type) {
    case 'start':
      void start(m.config!).then(() => process.send!({ type: 'started' }));
      break;
    case 'freeze':
      frozen = true;
      break;
    case 'finish':
      clearInterval(progressTimer);
      void Promise.all(agents.map((a) => a.agent.stop())).then(() => {
        agents = [];
        const result: OutageResult = { type: 'result', sampled: counts };
        process.send!(result, () => process.exit(0));
      });
      break;
  }
});
