// What routing one MQTT message gives the pipeline: points to write, a rejection, or nothing.
import type { PayloadError } from '../common/errors.js';
import type { MetricName } from '../common/schema.js';

export type Routed =
  /** Points to write; `seq` is the agent's sequence number (readings only, for the confirmation); `self`: figures of Machmon's own (the broker's), not a reading. */
  | { kind: 'points'; host: string; metric?: MetricName; seq?: number; lines: string[]; self?: boolean }
  /** Rejected for good; `seq` when the reading could be read far enough to know it. */
  | { kind: 'rejected'; host?: string; seq?: number; error: PayloadError }
  /** Nothing to store (confirmations, a cleared retained status). */
  | { kind: 'ignored' };
