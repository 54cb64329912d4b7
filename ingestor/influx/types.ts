// What the pipeline needs from InfluxDB, whatever its version: prepare the database and
// write a batch of lines. The one distinction that matters for acknowledging messages:
//   - InfluxUnavailableError (connection error, timeout, 5xx, 429, auth, missing database):
//     nothing is lost, the pipeline retries the same batch with backoff;
//   - a resolved WriteResult with refusedLines > 0 (HTTP 400/422: type conflict, bad line):
//     InfluxDB refused those points for their content; retrying cannot help, so they are
//     logged, counted and their messages acknowledged.
import { MachmonError } from '../../common/errors.js';

export interface WriteResult {
  /** Points InfluxDB refused for their content (0 when all were stored). */
  refusedLines: number;
  /** InfluxDB's words about the refused points. */
  refusal?: string;
}

export interface InfluxWriter {
  /** Base URL, for log lines. */
  readonly url: string;
  /** Creates database and retention policy where the API version allows it; throws InfluxUnavailableError. */
  setup(): Promise<void>;
  /** Writes a batch of lines (ms precision); throws InfluxUnavailableError when the write may be retried. */
  write(batch: LineBatch): Promise<WriteResult>;
}

/**
 * A batch of line protocol as the pipeline holds it: one UTF-8 buffer of whole lines, each
 * ending in a newline (what /write takes as it is), its number of points, and the lines one
 * by one for a writer that must split a refused batch (made on demand: a raw newline can
 * stand inside a string field, so `body` alone does not say where lines end).
 */
export interface LineBatch {
  readonly body: Buffer;
  readonly points: number;
  lines(): readonly string[];
}

/** A batch of the given lines. */
export function lineBatch(lines: readonly string[]): LineBatch {
  return { body: Buffer.from(lines.length ? `${lines.join('\n')}\n` : ''), points: lines.length, lines: () => lines };
}

export class InfluxUnavailableError extends MachmonError {
  /** True when setup() must run again before the next write (the database vanished). */
  readonly needsSetup: boolean;
  constructor(message: string, options?: { cause?: unknown; needsSetup?: boolean }) {
    super('INFLUX_UNAVAILABLE', message, options);
    this.needsSetup = options?.needsSetup ?? false;
  }
}

/** Short reason of a failed HTTP call: "ECONNREFUSED", "timeout after 10000 ms", ... */
export function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.name === 'RequestTimedOutError') return `no answer within ${timeoutMs} ms`;
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** HTTP statuses that say the data itself was refused (not retried). */
export const isDataRefusal = (status: number) => status === 400 || status === 422;

/**
 * Refused-point count from an InfluxDB 1.x error body: "partial write: ... dropped=N" and
 * one "unable to parse" per bad line. At least 1 when the status said data was refused.
 */
export function countRefused(body: string): number {
  let n = 0;
  for (const m of body.matchAll(/dropped=(\d+)/g)) n += Number(m[1]);
  n += body.match(/unable to parse/g)?.length ?? 0;
  return Math.max(1, n);
}
