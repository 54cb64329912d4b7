// The one registration table of the agent's collectors: metric group -> entry.
// The name is also the proto message, the topic segment and the config key (agent.metrics.<name>).
import type { MetricName } from '../../common/schema.js';
import type { CollectorEntry } from './types.js';
import { collector as cpusNumber } from './cpus-number.js';
import { collector as cpu } from './cpu.js';
import { collector as mem } from './mem.js';
import { collector as disk } from './disk.js';
import { collector as temperature } from './temperature.js';
import { collector as partitions } from './partitions.js';
import { collector as ioRatio } from './io-ratio.js';
import { collector as logs } from './logs.js';
import { collector as processesNumber } from './processes-number.js';
import { collector as process } from './process.js';
import { collector as latency } from './latency.js';
import { collector as networkMetrics } from './network-metrics.js';
import { collector as systemAdditionalInfo } from './system-additional-info.js';
import { collector as piHealth } from './pi-health.js';
import { collector as fan } from './fan.js';
import { collector as cpuFreq } from './cpu-freq.js';

/** agentHealth is not here: the agent's runtime reports it from its outbox. */
export type CollectedMetric = Exclude<MetricName, 'agentHealth'>;

export const COLLECTORS: { readonly [M in CollectedMetric]: CollectorEntry<M> } = {
  cpusNumber,
  cpu,
  mem,
  disk,
  temperature,
  partitions,
  ioRatio,
  logs,
  processesNumber,
  process,
  latency,
  networkMetrics,
  systemAdditionalInfo,
  piHealth,
  fan,
  cpuFreq,
};
