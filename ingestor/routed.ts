// What routing one MQTT message gives the pipeline: points to write, a rejection, or nothing.
import type { PayloadError } from '../common/errors.js';
import type { Header, MetricName } from '../common/schema.js';

/** A decoded, validated and enriched reading, for what wants its values rather than its points (the Home Assistant bridge). */
export interface DecodedReading {
  readonly message: Record<string, unknown>;
  readonly header: Header & { sampleTimeMs: number };
}

export type Routed =
  /** Points to write; `seq` is the agent's sequence number (readings only, for the confirmation); `self`: figures of Machmon's own (the broker's), not a reading; `reading`: its decoded values (for the Home Assistant bridge). */
  | { kind: 'points'; host: string; metric?: MetricName; seq?: number; lines: string[]; self?: boolean; reading?: DecodedReading }
  /** Rejected for good; `seq` when the reading could be read far enough to know it. */
  | { kind: 'rejected'; host?: string; seq?: number; error: PayloadError }
  /** Nothing to store (confirmations, a cleared retained status). */
  | { kind: 'ignored' };
