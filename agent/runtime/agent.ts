// `machmon agent`: samples every enabled metric group on its interval, writes each reading
// (with its header) to the on-disk outbox, then publishes it. Readings leave the outbox only
// when the ingestor confirms them; what stays unconfirmed is re-sent at a bounded rate.
import path from 'node:path';
import { readPemFile } from '../../common/config-loader.js';
import type { AgentConfig } from '../config.js';
import { decodeConfirm } from '../../common/confirm.js';
import type { Logger } from '../../common/log.js';
import { encodeMetric, type MetricMessages, type MetricName } from '../../common/schema.js';
import type { Service } from '../../common/service.js';
import { metricTopic } from '../../common/topics.js';
import { COLLECTORS } from '../collectors/index.js';
import type { Reading } from '../collectors/types.js';
import { agentHealthEntry, OutboxSizeLog } from './health.js';
import { Outbox, type OutboxStats } from '../outbox/outbox.js';
import { pathsFromConfig, type Paths } from '../read/paths.js';
import { Publisher, streamBuilder } from './publisher.js';
import { Replayer } from './replay.js';
import { Runner, type CollectorTable } from './runner.js';
import { detectSystem } from './system.js';
import { AGENT_VERSION } from './version.js';

export interface AgentOptions {
  /** Registration table (default: COLLECTORS); agentHealth is added unless the table has it. */
  readonly collectors?: CollectorTable;
  readonly now?: () => number;
  readonly paths?: Paths;
}

export interface AgentStats {
  readonly outbox: OutboxStats;
  /** Readings re-sent because no confirmation came within outbox.confirmTimeoutMs. */
  readonly resentTotal: number;
  /** Readings sent by the replay path (re-sends, readings held while offline, left from a previous run). */
  readonly replayedTotal: number;
  readonly confirmErrorsTotal: number;
  readonly collectorFailuresTotal: number;
  readonly connected: boolean;
  readonly connects: number;
  readonly system: string;
}

export interface AgentService extends Service {
  stats(): AgentStats;
}

/** Distinct bad-confirmation messages logged at warn (beyond: debug). */
const MAX_CONFIRM_WARNINGS = 20;

export async function startAgent(config: AgentConfig, rootLog: Logger, opts: AgentOptions = {}): Promise<AgentService> {
  const log = rootLog.child({ component: 'agent' });
  const ca = config.caFile ? readPemFile('agent.caFile', config.caFile) : undefined;
  const clientCert = config.certFile && config.keyFile ? { cert: readPemFile('agent.certFile', config.certFile), key: readPemFile('agent.keyFile', config.keyFile) } : undefined;
  const stream = await streamBuilder(config.brokerUrl, ca, clientCert);
  const now = opts.now ?? Date.now;
  const paths = opts.paths ?? pathsFromConfig(config);
  const hostname = config.hostname;
  const system = config.system ?? detectSystem(paths);
  const outbox = Outbox.open(path.join(config.dataDir, 'outbox'), { ...config.outbox, log: log.child({ part: 'outbox' }), now });

  let confirmErrorsTotal = 0;
  const confirmWarnings = new Set<string>();
  const onConfirm = (payload: Buffer) => {
    try {
      const n = outbox.confirm(decodeConfirm(payload));
      log.debug({ confirmed: n }, 'confirmation received');
    } catch (err) {
      confirmErrorsTotal++;
      const key = (err as Error).message;
      const once = !confirmWarnings.has(key) && confirmWarnings.size < MAX_CONFIRM_WARNINGS;
      confirmWarnings.add(key);
      log[once ? 'warn' : 'debug']({ err, confirmErrorsTotal }, 'confirmation ignored');
    }
  };

  const publisher = new Publisher({ url: config.brokerUrl, stream, hostname, password: config.password, reconnect: config.reconnect, log: log.child({ part: 'mqtt' }), onConfirm, onConnect: () => replayer.kick() });
  const replayer = new Replayer({
    outbox,
    publisher,
    topic: (metric) => metricTopic(hostname, metric as MetricName),
    perSecond: config.outbox.replayPerSecond,
    confirmTimeoutMs: config.outbox.confirmTimeoutMs,
    now,
  });

  const record = <M extends MetricName>(metric: M, reading: Reading<M>, sampleTimeMs: number) => {
    const seq = outbox.allocateSeq();
    const message = { ...reading, header: { hostname, system, sampleTimeMs, seq, agentVersion: AGENT_VERSION } } as MetricMessages[M];
    const payload = encodeMetric(metric, message);
    outbox.append(seq, metric, sampleTimeMs, payload);
    // What was sampled, for an audit against what got stored (the fault suite counts these).
    log.debug({ seq, metric, sampleTimeMs }, 'reading recorded');
    if (publisher.publish(metricTopic(hostname, metric), payload)) outbox.markSent(seq, now());
  };

  const table: CollectorTable = opts.collectors ?? COLLECTORS;
  const health = agentHealthEntry({ outbox: () => outbox.stats(), resentTotal: () => replayer.resentTotal, collectorFailuresTotal: () => runner.collectorFailuresTotal }, now);
  const runner: Runner = new Runner({
    config,
    collectors: table.agentHealth ? table : { ...table, agentHealth: health },
    context: { config, paths },
    log,
    onReading: record,
    now,
  });

  const sizeLog = new OutboxSizeLog(log.child({ part: 'outbox' }));
  const sizeTimer = setInterval(() => sizeLog.check(outbox.stats(), now()), Math.min(config.intervalMs, 60_000));
  sizeTimer.unref();

  log.info({ host: hostname, system, version: AGENT_VERSION, brokerUrl: config.brokerUrl, dataDir: config.dataDir }, 'agent starting');
  sizeLog.check(outbox.stats(), now());
  publisher.start();
  replayer.start();
  runner.start();

  let stopping: Promise<void> | undefined;
  return {
    stats: () => ({
      outbox: outbox.stats(),
      resentTotal: replayer.resentTotal,
      replayedTotal: replayer.replayedTotal,
      confirmErrorsTotal,
      collectorFailuresTotal: runner.collectorFailuresTotal,
      connected: publisher.connected,
      connects: publisher.connects,
      system,
    }),
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(sizeTimer);
        await runner.stop();
        replayer.stop();
        await publisher.stop();
        outbox.close();
        log.info({ outbox: outbox.stats().messages }, 'agent stopped');
      })()),
  };
}
