// Small real collectors for the agent runtime tests.
import type { MetricName } from '../../../../common/schema.js';
import type { CollectorEntry, Reading } from '../../../../agent/collectors/types.js';

/** A collector entry whose reading comes from fn (called once per run). */
export function entry<M extends MetricName>(name: M, fn: (run: number) => Reading<M> | Promise<Reading<M>>, o: { defaultEnabled?: boolean; defaultIntervalMs?: number; onClose?: () => void } = {}): CollectorEntry<M> & { runs: () => number } {
  let runs = 0;
  return {
    defaultEnabled: o.defaultEnabled ?? true,
    defaultIntervalMs: o.defaultIntervalMs,
    create: () => ({ name, collect: async () => fn(++runs), close: o.onClose }),
    runs: () => runs,
  };
}

/** A processesNumber collector counting its runs in the reading. */
export const counter = (o: Parameters<typeof entry>[2] = {}) => entry('processesNumber', (run) => ({ active: run, total: 100 + run }), o);
