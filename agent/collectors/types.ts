// The contract between the agent's runner and its collectors (one per metric group).
import type { AgentConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import type { MetricMessages, MetricName } from '../../common/schema.js';
import type { Paths } from '../read/paths.js';

/** A reading without its header; the runner adds the header (hostname, time, seq...). */
export type Reading<M extends MetricName> = Omit<MetricMessages[M], 'header'>;

export interface CollectorContext {
  readonly config: AgentConfig;
  readonly paths: Paths;
  /** Child logger bound to the collector's name. */
  readonly log: Logger;
}

export interface Collector<M extends MetricName = MetricName> {
  readonly name: M;
  /**
   * Reads the metric group once. Values that cannot be read stay unset (the reason is
   * logged once by the collector, not every cycle). Throws NoDataError when there is
   * nothing to report this time (e.g. no 1-Wire sensor, not a Pi), any other error on failure.
   */
  collect(): Promise<Reading<M>>;
  /** Releases what the collector holds (GPIO handles, child processes). */
  close?(): Promise<void> | void;
}

export interface CollectorEntry<M extends MetricName = MetricName> {
  /** Off by default groups run only when metrics.<name>.enabled is true. */
  readonly defaultEnabled: boolean;
  /** Default interval when metrics.<name>.intervalMs is not set (else agent.intervalMs). */
  readonly defaultIntervalMs?: number;
  readonly create: (ctx: CollectorContext) => Collector<M>;
}

/** Nothing to report this cycle; the runner logs it at debug level and publishes nothing. */
export class NoDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDataError';
  }
}
