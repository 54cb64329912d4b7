// Batching, writing with retry, and acknowledging: the path of every taken message after
// the router. Entries are cut into batches in arrival order; up to MAX_CONCURRENT_WRITES
// batches are written at once (one write at a time left the ingestor waiting on InfluxDB:
// ~200 ms per 5,000 points with a 10,000-host series set capped it near 8,600 readings/s,
// README "Scaling"), and acknowledged strictly in arrival order once the batch holding
// them and every batch before it are written (or refused for good), so a crash or an
// InfluxDB outage leaves them unacknowledged at the broker, which re-delivers them.
import type { Logger } from '../common/log.js';
import { Confirmations, type Publish } from './confirmer.js';
import { backoffDelay } from '../common/backoff.js';
import { InfluxUnavailableError, type InfluxWriter, type LineBatch, type WriteResult } from './influx/index.js';
import type { IngestorStats } from './stats.js';

export interface Entry {
  /** Connection epoch the message came on (mqtt-ack). */
  epoch: number;
  /** QoS 1 message id; undefined for QoS 0 and for the ingestor's own points. */
  messageId?: number;
  host?: string;
  /** Agent sequence number to confirm once the entry is done. */
  seq?: number;
  /** Line protocol to write (none for rejected or ignored messages, which only wait for their turn to be acknowledged). */
  lines: string[];
  /** The ingestor's own self-metrics. */
  self?: boolean;
}

/**
 * An entry as it waits: its lines as one UTF-8 buffer (each line ending in a newline)
 * instead of thousands of small strings kept alive until their write, which made the
 * garbage collector a third of the ingestor's CPU (README "Scaling").
 */
interface Held {
  epoch: number;
  messageId?: number;
  host?: string;
  seq?: number;
  self?: boolean;
  points: number;
  data?: Buffer;
  /** The lines themselves, kept only when one holds a raw newline (inside a string field), so data cannot be split at newlines. */
  lines?: readonly string[];
}

/** The lines of held entries, one by one (for a writer that splits a refused batch). */
function linesOf(batch: readonly Held[]): string[] {
  const out: string[] = [];
  for (const e of batch) {
    if (e.lines) out.push(...e.lines);
    else if (e.data) out.push(...e.data.toString('utf8', 0, e.data.length - 1).split('\n'));
  }
  return out;
}

const NEWLINE = 0x0a;

function held(entry: Entry): Held {
  const { lines } = entry;
  const h: Held = { epoch: entry.epoch, messageId: entry.messageId, host: entry.host, seq: entry.seq, self: entry.self, points: lines.length };
  if (lines.length === 0) return h;
  const data = Buffer.from(`${lines.join('\n')}\n`);
  h.data = data;
  let newlines = 0;
  for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, i + 1)) newlines++;
  if (newlines !== lines.length) h.lines = lines;
  return h;
}

export interface AckSink {
  ack(epoch: number, messageId: number): boolean;
  /** Called whenever the pending count drops below the bound. */
  resume(): void;
}

export interface PipelineOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxPendingMessages: number;
  /** Bound on the line protocol held (characters, ~bytes), for readings with many or long rows. */
  maxPendingBytes: number;
  retry: { minMs: number; maxMs: number };
  stopTimeoutMs: number;
}

/** Batches being written to InfluxDB at once. */
export const MAX_CONCURRENT_WRITES = 4;

/** How to get an InfluxDB, said once when it is not there at start. */
export const START_INFLUX_HINT = 'start one with `influxd`, or `sudo apt-get install influxdb && sudo systemctl start influxdb`';
/** While InfluxDB stays unreachable, repeat the warning at most this often (unless the reason changes). */
const OUTAGE_LOG_EVERY_MS = 60_000;

export class Pipeline {
  private queue: Held[] = [];
  private queuedLines = 0;
  private inFlight = 0;
  /** Characters of line protocol queued or in flight. */
  private pendingChars = 0;
  /** Batches being written, and the acknowledgement of the last one started (they finish in order). */
  private writing = 0;
  private lastFinished: Promise<void> = Promise.resolve();
  private running = false;
  private runPromise: Promise<void> = Promise.resolve();
  private flushDue = false;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopDeadline = Infinity;
  private readonly wakers = new Set<() => void>();
  private setupLoop: Promise<unknown> = Promise.resolve();
  private ready = false;
  private everReady = false;
  private setupPromise: Promise<void> | undefined;
  private outageSince: number | undefined;
  private lastOutageLog = 0;
  private lastOutageReason = '';

  constructor(
    private readonly writer: InfluxWriter,
    private readonly acks: AckSink,
    private readonly publishConfirm: Publish,
    private readonly stats: IngestorStats,
    private readonly log: Logger,
    private readonly opts: PipelineOptions,
  ) {}

  /** Characters of line protocol waiting (about bytes), for /metrics. */
  get pendingBytes(): number {
    return this.pendingChars;
  }

  /** Messages taken and not yet acknowledged (queued or in the batch being written). */
  get pendingMessages(): number {
    return this.queue.length + this.inFlight;
  }

  /** True while the pending buffer is at its bound: take no more messages. */
  isFull(): boolean {
    return this.stopping || this.pendingMessages >= this.opts.maxPendingMessages || this.pendingChars >= this.opts.maxPendingBytes;
  }

  /** True while InfluxDB is known to be unreachable. */
  get unavailable(): boolean {
    return this.outageSince !== undefined;
  }

  /** Prepares the database in the background, retrying until it works or stop(). */
  start(): void {
    this.setupLoop = this.withRetry(() => this.ensureSetup()).catch((err: unknown) => this.log.error({ err }, 'InfluxDB setup gave up'));
  }

  add(entry: Entry): void {
    const h = held(entry);
    this.queue.push(h);
    this.queuedLines += h.points;
    this.pendingChars += h.data?.length ?? 0;
    this.stats.pending = this.pendingMessages;
    if (this.queuedLines >= this.opts.batchSize) this.kick();
    else this.arm();
  }

  /** Writes what is queued, retrying until stopTimeoutMs; then leaves the rest unacknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + this.opts.stopTimeoutMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const wake of this.wakers) wake();
    this.kick();
    await this.runPromise;
    // Each finished batch starts the next one: wait until none is left in flight.
    for (let last = this.lastFinished; ; last = this.lastFinished) {
      await last;
      await this.runPromise;
      if (last === this.lastFinished && this.writing === 0) break;
    }
    await this.setupLoop;
  }

  private arm(): void {
    if (this.timer || this.stopping || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushDue = true;
      this.kick();
    }, this.opts.flushIntervalMs);
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    this.runPromise = this.run().catch((err: unknown) => this.log.error({ err }, 'ingestor pipeline failed'));
  }

  private async run(): Promise<void> {
    try {
      while (this.writing < MAX_CONCURRENT_WRITES && this.queue.length && (this.flushDue || this.stopping || this.queuedLines >= this.opts.batchSize)) {
        this.flushDue = false;
        const batch = this.take();
        this.arm();
        const parts: Buffer[] = [];
        let points = 0;
        for (const e of batch) {
          points += e.points;
          if (e.data) parts.push(e.data);
        }
        const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        const chars = body.length;
        const lines: LineBatch = { body, points, lines: () => linesOf(batch) };
        this.writing++;
        const write = async () => {
          await this.ensureSetup();
          const t = performance.now();
          const result = await this.writer.write(lines);
          this.stats.recordWrite(performance.now() - t, points);
          return result;
        };
        const written: Promise<WriteResult | undefined> = points ? this.withRetry(write) : Promise.resolve({ refusedLines: 0 });
        const previous = this.lastFinished;
        this.lastFinished = (async () => {
          const result = await written;
          await previous; // acknowledge in arrival order
          this.writing--;
          this.inFlight -= batch.length;
          this.pendingChars -= chars;
          // No result: stopping and InfluxDB still away; these stay unacknowledged (the broker keeps them).
          if (result) this.finish(batch, lines, result);
          this.stats.pending = this.pendingMessages;
          if (!this.isFull()) this.acks.resume();
          this.kick();
        })().catch((err: unknown) => this.log.error({ err }, 'ingestor pipeline failed'));
      }
    } finally {
      this.running = false;
    }
  }

  private take(): Held[] {
    let n = 0;
    let k = 0;
    while (k < this.queue.length && n < this.opts.batchSize) n += this.queue[k++]!.points;
    const batch = this.queue.splice(0, k);
    this.queuedLines -= n;
    this.inFlight += batch.length;
    return batch;
  }

  private finish(batch: Held[], lines: LineBatch, result: WriteResult): void {
    let selfLines = 0;
    for (const e of batch) if (e.self) selfLines += e.points;
    this.stats.writtenPoints += Math.max(0, lines.points - selfLines - result.refusedLines);
    if (result.refusedLines) {
      this.stats.influxRefusedPoints += result.refusedLines;
      this.log.warn({ refused: result.refusedLines, batch: lines.points, influx: result.refusal }, 'InfluxDB refused points for their content; they are dropped, not retried');
    }
    const confirms = new Confirmations();
    for (const e of batch) {
      if (!e.self && e.points) this.stats.writtenMessages++;
      if (e.messageId !== undefined) {
        if (this.acks.ack(e.epoch, e.messageId)) this.stats.acked++;
        else this.stats.staleAcks++;
      }
      if (e.seq !== undefined && e.host) confirms.add(e.host, e.seq);
    }
    this.stats.confirmsPublished += confirms.publish(this.publishConfirm);
  }

  private ensureSetup(): Promise<void> {
    if (this.ready) return Promise.resolve();
    this.setupPromise ??= this.writer.setup().then(
      () => {
        this.ready = true;
        this.everReady = true;
        this.setupPromise = undefined;
        this.log.info({ url: this.writer.url }, 'InfluxDB ready');
      },
      (err: unknown) => {
        this.setupPromise = undefined;
        throw err;
      },
    );
    return this.setupPromise;
  }

  /** Runs op until it succeeds; undefined when stopping ran out of time. */
  private async withRetry<T>(op: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await op();
        this.recovered();
        return result;
      } catch (err) {
        const e = err instanceof InfluxUnavailableError ? err : new InfluxUnavailableError((err as Error).message ?? String(err), { cause: err });
        if (e.needsSetup) this.ready = false;
        this.stats.writeFailures++;
        const delay = backoffDelay(attempt + 1, this.opts.retry.minMs, this.opts.retry.maxMs);
        if (this.stopping && Date.now() + delay > this.stopDeadline) {
          this.log.warn({ url: this.writer.url, reason: e.message, pending: this.pendingMessages }, 'stopping with InfluxDB unreachable: pending messages stay unacknowledged at the broker');
          return undefined;
        }
        this.logOutage(e, delay);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            this.wakers.delete(wake);
            resolve();
          };
          const t = setTimeout(wake, delay);
          this.wakers.add(wake);
        });
        if (this.stopping && Date.now() > this.stopDeadline) return undefined;
      }
    }
  }

  private logOutage(e: InfluxUnavailableError, delayMs: number): void {
    const now = Date.now();
    const first = this.outageSince === undefined;
    if (!first && e.message === this.lastOutageReason && now - this.lastOutageLog < OUTAGE_LOG_EVERY_MS) return;
    this.outageSince ??= now;
    this.lastOutageLog = now;
    this.lastOutageReason = e.message;
    const waiting = this.pendingMessages;
    const hint = this.everReady ? '' : `; ${START_INFLUX_HINT}`;
    const since = first ? '' : ` (for ${Math.round((now - this.outageSince) / 1000)} s)`;
    this.log.warn(
      { url: this.writer.url, reason: e.message, waiting, retryInMs: delayMs },
      `InfluxDB unreachable at ${this.writer.url}${since}: ${e.message}; ${waiting} messages waiting, retrying in ${(delayMs / 1000).toFixed(1)} s${hint}`,
    );
  }

  private recovered(): void {
    if (this.outageSince === undefined) return;
    const s = Math.round((Date.now() - this.outageSince) / 1000);
    this.outageSince = undefined;
    this.lastOutageReason = '';
    this.log.info({ url: this.writer.url, outageSeconds: s }, `InfluxDB reachable again at ${this.writer.url} after ${s} s`);
  }
}
