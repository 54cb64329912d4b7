// Self-metrics of the broker and the ingestor (README "Self-metrics: /metrics, /healthz,
// /readyz"): one loopback HTTP server per service with
//   GET /metrics   the Prometheus text format (prom-client's registry), with prom-client's
//                  default process metrics (process_resident_memory_bytes, nodejs_heap_*...)
//   GET /healthz   200 while the process serves at all
//   GET /readyz    200 when the service is ready (its own check), else 503 with the reasons
// The services count in plain number fields on their hot paths (a property increment, no
// label hashing); the figures are read into the exposition only when someone scrapes, through
// `collected` metrics below. Nothing here runs unless `<service>.metrics.enabled`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { MachmonError } from './errors.js';
import type { Histogram } from './histogram.js';
import type { Logger } from './log.js';

export type Labels = Record<string, string>;
export type Sample = readonly [labels: Labels, value: number];
/** One sample without labels. */
export const unlabelled = (value: number): Sample[] => [[{}, value]];

interface CollectedSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** The samples now; a counter's values only grow (they come from counters kept by the service). */
  read(): Iterable<Sample> | Promise<Iterable<Sample>>;
}

/** Registers a metric whose samples are read from the service when scraped. */
export function collected(registry: Registry, spec: CollectedSpec): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    aggregator: 'sum',
    async get() {
      const values = [...(await spec.read())].map(([labels, value]) => ({ labels, value }));
      return { name: spec.name, help: spec.help, type: spec.type, aggregator: 'sum', values };
    },
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** Registers a histogram read from a Histogram when scraped (name without _bucket/_sum/_count). */
export function collectedHistogram(registry: Registry, name: string, help: string, histogram: Histogram): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Labels; value: number }[] = [];
      let cumulative = 0;
      histogram.bounds.forEach((le, i) => {
        cumulative += histogram.counts[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { le: String(le) }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: histogram.count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: histogram.sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: histogram.count });
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** A registry with prom-client's default process metrics (heap, RSS, CPU, event loop lag, GC). */
export function newRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServerOptions {
  /** For logs and errors: "broker" or "ingestor". */
  service: string;
  host: string;
  port: number;
  registry: Registry;
  /** Why the service is not ready (empty: ready). */
  notReady(): string[] | Promise<string[]>;
  log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the /metrics, /healthz, /readyz server; a port in use is a METRICS_START_FAILED error. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    const reply = (status: number, type: string, body: string) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    const failed = (err: unknown) => {
      opts.log.warn({ err, path: url }, 'self-metrics request failed');
      if (!res.headersSent) reply(500, 'text/plain', `error: ${(err as Error).message}\n`);
    };
    switch (url) {
      case '/metrics':
        opts.registry.metrics().then((text) => reply(200, opts.registry.contentType, text), failed);
        return;
      case '/healthz':
        reply(200, 'text/plain', 'ok\n');
        return;
      case '/readyz':
        Promise.resolve()
          .then(() => opts.notReady())
          .then((reasons) => (reasons.length ? reply(503, 'text/plain', `not ready: ${reasons.join('; ')}\n`) : reply(200, 'text/plain', 'ready\n')), failed);
        return;
      default:
        reply(404, 'text/plain', 'not found: /metrics, /healthz or /readyz\n');
    }
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  }).catch((err: unknown) => {
    throw new MachmonError('METRICS_START_FAILED', `${opts.service}: cannot serve self-metrics on ${opts.host}:${opts.port} (${opts.service}.metrics): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  });
  server.on('error', (err) => opts.log.warn({ err }, 'self-metrics server error'));
  opts.log.info({ url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/metrics` }, 'serving self-metrics');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
