// Runs the enabled collectors, each group on its own interval. Groups that share an interval
// tick together and run concurrently; one failing never holds back the others. A group whose
// previous run has not finished skips the tick (no overlapping runs of one collector).
import type { AgentConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import type { MetricName } from '../../common/schema.js';
import { NoDataError, type Collector, type CollectorContext, type CollectorEntry, type Reading } from '../collectors/types.js';
import { monotonicNowMs, type SampleStamp } from './clock.js';

/** A registration table: the real one is COLLECTORS; tests pass their own. */
export type CollectorTable = { readonly [M in MetricName]?: CollectorEntry<M> };

/** `at`: both clocks read when the sample started. */
export type ReadingSink = <M extends MetricName>(metric: M, reading: Reading<M>, at: SampleStamp) => void;

export interface RunnerOptions {
  readonly config: AgentConfig;
  readonly collectors: CollectorTable;
  readonly context: Omit<CollectorContext, 'log'>;
  readonly log: Logger;
  /** Gets every reading, in the order the collectors finish. Exceptions count as failures. */
  readonly onReading: ReadingSink;
  /** Wall clock (default Date.now). */
  readonly now?: () => number;
  /** CLOCK_MONOTONIC in ms (default process.hrtime). */
  readonly monotonic?: () => number;
}

/** Distinct failure messages remembered per collector (beyond: logged at debug). */
const MAX_DISTINCT_FAILURES = 50;

interface Group {
  readonly name: MetricName;
  readonly collector: Collector;
  readonly intervalMs: number;
  readonly log: Logger;
  running?: Promise<void>;
  readonly seenFailures: Set<string>;
  runs: number;
  failures: number;
}

export interface GroupPlan {
  readonly name: MetricName;
  readonly intervalMs: number;
}

/** Which groups run and how often: metrics.<name>.enabled/intervalMs, else the entry's defaults. */
export function planGroups(config: AgentConfig, collectors: CollectorTable): GroupPlan[] {
  const plan: GroupPlan[] = [];
  for (const [name, entry] of Object.entries(collectors) as [MetricName, CollectorEntry | undefined][]) {
    if (!entry) continue;
    const override = config.metrics[name];
    const enabled = override?.enabled ?? entry.defaultEnabled;
    if (!enabled) continue;
    plan.push({ name, intervalMs: override?.intervalMs ?? entry.defaultIntervalMs ?? config.intervalMs });
  }
  return plan;
}

export class Runner {
  private readonly groups: Group[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private failuresTotal = 0;
  private readonly now: () => number;
  private readonly monotonic: () => number;

  constructor(private readonly opts: RunnerOptions) {
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? monotonicNowMs;
  }

  /** Collector runs that failed (NoDataError is not a failure) since start. */
  get collectorFailuresTotal(): number {
    return this.failuresTotal;
  }

  /** Per-group counters, for tests and diagnostics. */
  groupStats(): Record<string, { runs: number; failures: number; intervalMs: number }> {
    return Object.fromEntries(this.groups.map((g) => [g.name, { runs: g.runs, failures: g.failures, intervalMs: g.intervalMs }]));
  }

  /** Creates the collectors and runs the first tick of every group at once. */
  start(): void {
    const { log } = this.opts;
    for (const { name, intervalMs } of planGroups(this.opts.config, this.opts.collectors)) {
      const entry = this.opts.collectors[name] as CollectorEntry | undefined;
      const glog = log.child({ collector: name });
      try {
        const collector = entry!.create({ ...this.opts.context, log: glog });
        this.groups.push({ name, collector, intervalMs, log: glog, seenFailures: new Set(), runs: 0, failures: 0 });
      } catch (err) {
        this.failuresTotal++;
        glog.warn({ err }, 'collector could not be created; group disabled');
      }
    }
    const byInterval = new Map<number, Group[]>();
    for (const g of this.groups) byInterval.set(g.intervalMs, [...(byInterval.get(g.intervalMs) ?? []), g]);
    for (const [intervalMs, groups] of byInterval) {
      this.timers.push(setInterval(() => this.tick(groups), intervalMs));
      this.tick(groups);
    }
    log.info({ groups: Object.fromEntries(this.groups.map((g) => [g.name, g.intervalMs])) }, 'collectors started');
  }

  /** Stops the timers, waits for running collections and closes the collectors. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.groups.map((g) => g.running));
    await Promise.allSettled(
      this.groups.map(async (g) => {
        try {
          await g.collector.close?.();
        } catch (err) {
          g.log.warn({ err }, 'collector close failed');
        }
      }),
    );
  }

  private tick(groups: readonly Group[]): void {
    if (this.stopped) return;
    for (const g of groups) {
      if (g.running) {
        g.log.debug('previous run still busy; tick skipped');
        continue;
      }
      g.running = this.runOnce(g).finally(() => {
        g.running = undefined;
      });
    }
  }

  private async runOnce(g: Group): Promise<void> {
    const at: SampleStamp = { wallMs: this.now(), monotonicMs: this.monotonic() };
    g.runs++;
    let reading: Reading<MetricName>;
    try {
      reading = await g.collector.collect();
    } catch (err) {
      if (err instanceof NoDataError) {
        g.log.debug({ reason: err.message }, 'no data this time');
        return;
      }
      this.fail(g, err, 'collector failed');
      return;
    }
    try {
      this.opts.onReading(g.name, reading, at);
    } catch (err) {
      this.fail(g, err, 'reading not kept');
    }
  }

  private fail(g: Group, err: unknown, msg: string): void {
    this.failuresTotal++;
    g.failures++;
    const key = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (g.seenFailures.has(key) || g.seenFailures.size >= MAX_DISTINCT_FAILURES) {
      g.log.debug({ err, failures: g.failures }, msg);
      return;
    }
    g.seenFailures.add(key);
    g.log.warn({ err, failures: g.failures }, `${msg} (logged once per distinct error)`);
  }
}
