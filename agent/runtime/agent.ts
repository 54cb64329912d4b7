// `machmon agent`: samples every enabled metric group on its interval, writes each reading
// (with its header) to the on-disk outbox, then publishes it. Readings leave the outbox only
// when the ingestor confirms them; what stays unconfirmed is re-sent at a bounded rate.
import path from 'node:path';
import { readPemFile } from '../../common/config-loader.js';
import type { AgentConfig } from '../config.js';
import { decodeConfirm } from '../../common/confirm.js';
import type { Logger } from '../../common/log.js';
import { decodeMetric, encodeMetric, encodeTypedMetric, type MetricMessages, type MetricName } from '../../common/schema.js';
import { TimeStatus } from '../../proto/gen/machmon.js';
import type { Service } from '../../common/service.js';
import { metricTopic } from '../../common/topics.js';
import type { Reading } from '../collectors/types.js';
import { agentHealthEntry, OutboxSizeLog } from './health.js';
import { Outbox, type OutboxStats, type PendingReading } from '../outbox/outbox.js';
import { FLAG_TIME_UNSYNCHRONIZED } from '../outbox/record.js';
import { AgentClock, monotonicNowMs, type SampleStamp } from './clock.js';
import { pathsFromConfig, type Paths } from '../read/paths.js';
import { Publisher, streamBuilder } from './publisher.js';
import { Replayer } from './replay.js';
import { Runner, type CollectorTable } from './runner.js';
import { loadSource } from './source.js';
import type { SiSource } from '../collectors/si/source.js';
import { AGENT_VERSION } from './version.js';

export interface AgentOptions {
  /** Registration table (default: COLLECTORS); agentHealth is added unless the table has it. */
  readonly collectors?: CollectorTable;
  /** Wall clock (default Date.now): sample times. */
  readonly now?: () => number;
  /** CLOCK_MONOTONIC in ms (default process.hrtime): the boot's own time, and every timeout. */
  readonly monotonic?: () => number;
  readonly paths?: Paths;
  /** agent.source systeminformation: the SiSource to use instead of the package (tests on recorded results). */
  readonly si?: SiSource;
}

export interface AgentStats {
  readonly outbox: OutboxStats;
  /** Readings re-sent because no confirmation came within outbox.confirmTimeoutMs. */
  readonly resentTotal: number;
  /** Readings sent by the replay path (re-sends, readings held while offline, left from a previous run). */
  readonly replayedTotal: number;
  readonly confirmErrorsTotal: number;
  readonly collectorFailuresTotal: number;
  /** Readings taken before the clock was synchronised in a boot whose offset was never measured (sent marked TIME_STATUS_UNKNOWN). */
  readonly timeUnknownTotal: number;
  /** False while readings are held for an unsynchronised clock. */
  readonly clockTrusted: boolean;
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
  const monotonic = opts.monotonic ?? monotonicNowMs;
  const paths = opts.paths ?? pathsFromConfig(config);
  const hostname = config.hostname;
  // The collectors of agent.source (the systeminformation code is imported only when selected).
  const source = await loadSource(config, paths, log, opts.si ? { si: opts.si } : {});
  const system = source.system;
  const outbox = Outbox.open(path.join(config.dataDir, 'outbox'), { ...config.outbox, log: log.child({ part: 'outbox' }), now: monotonic });
  const clock = new AgentClock({ sync: config.clock.sync, paths, dataDir: config.dataDir, log: log.child({ part: 'clock' }), now, monotonic });
  // Readings from this seq on wait for the clock (runtime/clock.ts); Infinity: nothing waits.
  let holdFromSeq = clock.trusted ? Infinity : (outbox.firstWithFlags(FLAG_TIME_UNSYNCHRONIZED) ?? Infinity);
  clock.onSync(() => {
    holdFromSeq = Infinity;
    replayer.kick();
  });
  let timeUnknownTotal = 0;
  const unknownBoots = new Set<string>();
  /** The payload to send for a held reading: its time fixed, or undefined while it must wait. */
  const prepare = (p: PendingReading, payload: Buffer): Uint8Array | undefined => {
    if (!(p.flags & FLAG_TIME_UNSYNCHRONIZED)) return payload;
    const metric = p.metric as MetricName;
    const message = decodeMetric(metric, payload);
    const h = message.header ?? {};
    const fixed = clock.resolve({ sampleTimeMs: h.sampleTimeMs ?? 0, bootId: h.bootId ?? '', monotonicMs: h.monotonicMs ?? 0 });
    if (!fixed) return undefined;
    if (fixed.timeStatus === TimeStatus.TIME_STATUS_UNKNOWN) {
      timeUnknownTotal++;
      const boot = h.bootId ?? '';
      if (!unknownBoots.has(boot)) {
        unknownBoots.add(boot);
        log.warn({ bootId: boot, seq: p.seq }, 'readings taken before the clock was synchronised in an earlier boot: their time cannot be known; sent marked unknown (the ingestor refuses them)');
      }
    }
    return encodeMetric(metric, { ...message, header: { ...h, ...fixed } });
  };

  let confirmErrorsTotal = 0;
  const confirmWarnings = new Set<string>();
  const onConfirm = (payload: Buffer) => {
    try {
      const ranges = decodeConfirm(payload);
      const n = outbox.confirm(ranges);
      replayer.confirmed(ranges);
      log.debug({ confirmed: n }, 'confirmation received');
    } catch (err) {
      confirmErrorsTotal++;
      const key = (err as Error).message;
      const once = !confirmWarnings.has(key) && confirmWarnings.size < MAX_CONFIRM_WARNINGS;
      confirmWarnings.add(key);
      log[once ? 'warn' : 'debug']({ err, confirmErrorsTotal }, 'confirmation ignored');
    }
  };

  const publisher = new Publisher({ url: config.brokerUrl, stream, hostname, password: config.password, reconnect: config.reconnect, log: log.child({ part: 'mqtt' }), onConfirm, onConnect: () => replayer.connected() });
  const replayer = new Replayer({
    outbox,
    publisher,
    topic: (metric) => metricTopic(hostname, metric as MetricName),
    perSecond: config.outbox.replayPerSecond,
    confirmTimeoutMs: config.outbox.confirmTimeoutMs,
    now: monotonic,
    holdFromSeq: () => holdFromSeq,
    prepare,
  });

  const record = <M extends MetricName>(metric: M, reading: Reading<M>, at: SampleStamp) => {
    const seq = outbox.allocateSeq();
    const time = clock.stamp(at);
    const message = { ...reading, header: { hostname, system, ...time, seq, agentVersion: AGENT_VERSION } } as MetricMessages[M];
    const payload = encodeTypedMetric(metric, message);
    const held = time.timeStatus === TimeStatus.TIME_STATUS_UNSYNCHRONIZED;
    outbox.append(seq, metric, time.sampleTimeMs, payload, held ? FLAG_TIME_UNSYNCHRONIZED : 0);
    // What was sampled, for an audit against what got stored (the fault suite counts these).
    log.debug({ seq, metric, sampleTimeMs: time.sampleTimeMs, monotonicMs: time.monotonicMs, timeStatus: time.timeStatus }, 'reading recorded');
    if (held) {
      holdFromSeq = Math.min(holdFromSeq, seq);
      return;
    }
    if (publisher.publish(metricTopic(hostname, metric), payload)) outbox.markSent(seq, monotonic());
  };

  const table: CollectorTable = opts.collectors ?? source.table;
  const health = agentHealthEntry({ outbox: () => outbox.stats(), resentTotal: () => replayer.resentTotal, collectorFailuresTotal: () => runner.collectorFailuresTotal }, now);
  const runner: Runner = new Runner({
    config,
    collectors: table.agentHealth ? table : { ...table, agentHealth: health },
    context: { config, paths },
    log,
    onReading: record,
    now,
    monotonic,
  });

  const sizeLog = new OutboxSizeLog(log.child({ part: 'outbox' }));
  const sizeTimer = setInterval(() => sizeLog.check(outbox.stats(), now()), Math.min(config.intervalMs, 60_000));
  sizeTimer.unref();

  log.info({ host: hostname, system, source: source.name, version: AGENT_VERSION, brokerUrl: config.brokerUrl, dataDir: config.dataDir }, 'agent starting');
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
      timeUnknownTotal,
      clockTrusted: clock.trusted,
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
