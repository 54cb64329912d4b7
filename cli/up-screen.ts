// What `machmon up` shows on a terminal (README "The two commands"): a few lines saying
// where things are, then one status line every few seconds; the full JSON log goes to
// log.file (./data/machmon.log unless set). Off a terminal `up` logs as every command does.
import path from 'node:path';
import type { BrokerConfig } from '../broker/config.js';
import type { LogConfig } from '../common/config.js';
import type { Service } from '../common/service.js';
import type { IngestorStats } from '../ingestor/stats.js';
import { watch, type ReaderLogin } from './fleet-watch.js';
import type { InfluxChoice } from './influxd.js';
import type { InfluxdConfig } from './influxd-config.js';
import type { HostRow } from './top-model.js';

export const UP_LOG_FILE = './data/machmon.log';
/** How often the status line is printed. */
export const STATUS_EVERY_MS = 5_000;

/** On a terminal the JSON log goes to a file (log.file, else ./data/machmon.log). */
export function upLogConfig(log: LogConfig, terminal: boolean): LogConfig {
  return terminal && !log.file ? { ...log, file: UP_LOG_FILE } : log;
}

const rel = (p: string) => {
  const r = path.relative(process.cwd(), path.resolve(p));
  return r.startsWith('..') ? path.resolve(p) : `./${r}`;
};

export function introLines(o: { broker: BrokerConfig; influxUrl: string; influx: InfluxChoice; influxd: InfluxdConfig; logFile: string; agentHost: string; metrics?: { broker?: string; ingestor?: string } }): string[] {
  const influx = {
    own: `${o.influxUrl}, machmon's own influxd (data ${rel(o.influxd.dataDir)}, its log ${rel(o.influxd.logFile)}; stopped with up)`,
    configured: `${o.influxUrl} (ingestor.influx.url)`,
    running: `${o.influxUrl} (found running; used as it is)`,
    missing: `none: install it (sudo apt-get install -y influxdb) and start up again; readings wait until then`,
  }[o.influx.how];
  const listen = [`mqtt://${o.broker.host}:${o.broker.port}`, o.broker.tls ? `mqtts://${o.broker.host}:${o.broker.tls.port}` : ''].filter(Boolean).join(', ');
  return [
    'machmon up is running (Ctrl-C stops it).',
    `  broker    ${listen}; agents log in with their hostname and ${o.broker.auth === 'hostKeys' ? 'their host key (machmon host-key)' : 'broker.secretPassword'}`,
    `  agent     this machine, as ${o.agentHost}`,
    `  InfluxDB  ${influx}`,
    `  log       ${rel(o.logFile)} (every detail, JSON); errors also here`,
    ...(o.metrics?.broker || o.metrics?.ingestor
      ? [`  metrics   ${[o.metrics.broker && `${o.metrics.broker}/metrics (broker)`, o.metrics.ingestor && `${o.metrics.ingestor}/metrics (ingestor)`].filter(Boolean).join(', ')}; also /healthz, /readyz`]
      : []),
    '  watch     npx machmon top   (graphs: README "Dashboards (Grafana)")',
    '',
  ];
}

export interface Counters {
  atMs: number;
  received: number;
  written: number;
  rejected: number;
  writeFailures: number;
  pending: number;
}

const snapshot = (s: IngestorStats, atMs: number): Counters => ({ atMs, received: s.received, written: s.writtenMessages, rejected: s.rejectedTotal, writeFailures: s.writeFailures, pending: s.pending });

/** InfluxDB as the last period showed it: failed writes and none stored is unreachable; stores is ok; no traffic keeps what was known. */
export function influxState(prev: Counters, now: Counters, before: string): string {
  if (now.writeFailures > prev.writeFailures && now.written === prev.written) return `InfluxDB unreachable (${now.pending} waiting)`;
  if (now.written > prev.written) return 'InfluxDB ok';
  return before;
}

export function statusLine(prev: Counters, now: Counters, influx: string, rows: readonly HostRow[]): string {
  const dt = Math.max(1, now.atMs - prev.atMs) / 1000;
  const rate = (a: number, b: number) => ((b - a) / dt).toFixed(1);
  const online = rows.filter((r) => r.online).length;
  const backlog = rows.filter((r) => r.outboxMessages !== undefined).sort((a, b) => b.outboxMessages! - a.outboxMessages!)[0];
  const time = new Date(now.atMs).toTimeString().slice(0, 8);
  return [
    time,
    `${online}/${rows.length} hosts online`,
    `readings/s ${rate(prev.received, now.received)} received, ${rate(prev.written, now.written)} stored`,
    `${now.rejected} rejected`,
    influx,
    backlog ? `largest outbox ${backlog.outboxMessages} (${backlog.host})` : 'largest outbox -',
  ].join('  ');
}

/** Prints the status line every everyMs, from the ingestor's counters and the fleet seen as a reader. */
export function startStatusLine(o: { stats: IngestorStats; login: ReaderLogin; out: NodeJS.WritableStream; everyMs?: number }): Service {
  const w = watch(o.login, () => undefined);
  let prev = snapshot(o.stats, Date.now());
  let influx = 'InfluxDB: nothing written yet';
  const timer = setInterval(() => {
    const now = snapshot(o.stats, Date.now());
    influx = influxState(prev, now, influx);
    o.out.write(`${statusLine(prev, now, influx, w.fleet.rows(now.atMs))}\n`);
    prev = now;
  }, o.everyMs ?? STATUS_EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      await w.client.endAsync(true);
      o.out.write('machmon up: stopping\n');
    },
  };
}
