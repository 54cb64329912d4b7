// InfluxDB 2.x/3.x (and anything else that speaks /api/v2/write, e.g. VictoriaMetrics)
// through the WriteApi of @influxdata/influxdb-client, fed with our own line protocol.
// The client's own retry buffer is switched off (maxRetries 0) and each batch gets a
// WriteApi of its own that is flushed at once, so the pipeline's acknowledgements stay
// the only truth about what is stored.
//
// 2.x answers 400 for a batch with a malformed line and then stores NOTHING of it (and
// 422 when it stored some): unlike 1.x, the good points of a refused batch are not
// stored. So a refused batch is split in halves and written again until the refused
// lines are isolated; writes are idempotent, so points written twice do no harm.
import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { InfluxConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import { describeFetchError, InfluxUnavailableError, isDataRefusal, type InfluxWriter, type LineBatch, type WriteResult } from './types.js';

export class InfluxV2Writer implements InfluxWriter {
  readonly url: string;
  private readonly influx: InfluxDB;

  constructor(private readonly cfg: InfluxConfig, log: Logger) {
    this.url = cfg.url.replace(/\/+$/, '');
    this.influx = new InfluxDB({ url: this.url, token: cfg.token || undefined, timeout: cfg.timeoutMs });
    // The client logs every failed write to the console; our pipeline logs them once.
    const clientLog = log.child({ component: 'influxdb-client' });
    setLogger({ error: (message, err) => clientLog.debug({ err }, message), warn: (message, err) => clientLog.debug({ err }, message) });
  }

  async setup(): Promise<void> {
    // Buckets are made by whoever runs InfluxDB 2.x/3.x (they need an org id and rights
    // the ingestor's token should not have); the first write says whether it exists.
  }

  async write(batch: LineBatch): Promise<WriteResult> {
    if (batch.points === 0) return { refusedLines: 0 };
    try {
      // The whole batch as one record: the client joins records with newlines, ours end in one already.
      await this.send([batch.body.toString('utf8', 0, batch.body.length - 1)]);
      return { refusedLines: 0 };
    } catch (err) {
      if (!(err instanceof HttpError) || !isDataRefusal(err.statusCode)) throw this.unavailable(err);
      return this.split(batch.lines(), err);
    }
  }

  /** Halves a refused set of lines until the refused ones are isolated. */
  private async split(lines: readonly string[], err: HttpError): Promise<WriteResult> {
    if (lines.length === 1) return { refusedLines: 1, refusal: refusalText(err) };
    const mid = lines.length >> 1;
    const a = await this.writeLines(lines.slice(0, mid));
    const b = await this.writeLines(lines.slice(mid));
    return { refusedLines: a.refusedLines + b.refusedLines, refusal: a.refusal ?? b.refusal };
  }

  private async writeLines(lines: readonly string[]): Promise<WriteResult> {
    try {
      await this.send(lines);
      return { refusedLines: 0 };
    } catch (err) {
      if (!(err instanceof HttpError) || !isDataRefusal(err.statusCode)) throw this.unavailable(err);
      return this.split(lines, err);
    }
  }

  private async send(records: readonly string[]): Promise<void> {
    const api = this.influx.getWriteApi(this.cfg.org, this.cfg.bucket, 'ms', {
      maxRetries: 0,
      flushInterval: 0,
      batchSize: records.length + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      maxBufferLines: records.length + 1,
    });
    try {
      api.writeRecords(records as string[]);
      await api.flush();
    } finally {
      api.dispose();
    }
  }

  private unavailable(err: unknown): InfluxUnavailableError {
    if (err instanceof HttpError) {
      return new InfluxUnavailableError(`HTTP ${err.statusCode} ${refusalText(err).slice(0, 300)}`, { cause: err });
    }
    return new InfluxUnavailableError(describeFetchError(err, this.cfg.timeoutMs), { cause: err });
  }
}

function refusalText(err: HttpError): string {
  const json = err.json as { message?: string; error?: string } | undefined;
  return (json?.message ?? json?.error ?? err.body ?? err.message).trim();
}
