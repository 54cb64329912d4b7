// Sends again what the outbox still holds: readings never sent (offline, or left from a
// previous run) and readings unconfirmed after their confirm timeout (confirmTimeoutMs,
// doubled per send without a confirmation), in seq order from the oldest (round robin: each
// pass continues after the last reading sent). Paced by confirmations (outbox/replay-pacing.ts):
// at most `window` replayed readings await their confirmation, starting small after every
// connect; and at most perSecond on average (token bucket, ticks with +-50 % jitter so a
// fleet that comes back together does not send in lockstep). Shares the publisher's
// connection with live readings.
import type { SeqRange } from '../../common/ranges.js';
import type { Outbox, PendingReading } from '../outbox/outbox.js';
import { REPLAY_WINDOW, ReplayWindow, resendAfterMs, type ReplayWindowOptions } from '../outbox/replay-pacing.js';
import type { Publisher } from './publisher.js';

export interface ReplayOptions {
  readonly outbox: Outbox;
  readonly publisher: Pick<Publisher, 'connected' | 'publish'>;
  readonly topic: (metric: string) => string;
  readonly perSecond: number;
  readonly confirmTimeoutMs: number;
  /** Monotonic milliseconds (sent times and the rate are measured with it, never with the wall clock). */
  readonly now?: () => number;
  readonly random?: () => number;
  /** Readings from this seq on are not sent (they wait for the clock). */
  readonly holdFromSeq?: () => number;
  /** The payload to send for a reading with record flags, or undefined to leave it for now. */
  readonly prepare?: (p: PendingReading, payload: Buffer) => Uint8Array | undefined;
  /** Replayed readings awaiting confirmation, at most (default REPLAY_WINDOW). */
  readonly window?: ReplayWindowOptions;
}

const TICK_MS = 200;

export class Replayer {
  private timer: NodeJS.Timeout | undefined;
  private tokens = 0;
  private lastRefill = 0;
  /** Where the next round starts: after the last reading sent (round robin over the outbox). */
  private cursor = 0;
  private stopped = false;
  /** Re-sent because no confirmation came in time. */
  resentTotal = 0;
  /** Everything this path sent. */
  replayedTotal = 0;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly burst: number;
  /** The replayed readings awaiting confirmation, and how many may. */
  readonly window: ReplayWindow;

  constructor(private readonly opts: ReplayOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.burst = Math.max(1, Math.ceil((opts.perSecond * TICK_MS) / 1000));
    this.window = new ReplayWindow(opts.window ?? REPLAY_WINDOW);
  }

  start(): void {
    this.lastRefill = this.now();
    this.schedule();
  }

  /** After every connect: the window starts small again, and a tick runs soon. */
  connected(): void {
    this.window.reset();
    this.kick();
  }

  /** The ingestor confirmed these seqs: the window grows by the replayed ones among them. */
  confirmed(ranges: readonly SeqRange[]): void {
    this.window.confirmed(ranges);
  }

  /** Runs a tick soon (after a connect, or once held readings may go). */
  kick(): void {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 10);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), TICK_MS * (0.5 + this.random()));
    this.timer.unref();
  }

  /** One round: refill tokens, send up to floor(tokens) due readings, as far as the window has room. */
  tick(): void {
    const now = this.now();
    const { outbox, publisher } = this.opts;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) * this.opts.perSecond) / 1000);
    this.lastRefill = now;
    this.window.expire(now);
    const limit = Math.min(Math.floor(this.tokens), this.window.room);
    if (publisher.connected && limit >= 1) {
      const holdFrom = this.opts.holdFromSeq?.() ?? Infinity;
      for (const p of outbox.due(now, this.opts.confirmTimeoutMs, limit, this.cursor, holdFrom)) {
        const stored = outbox.read(p.seq);
        if (!stored) continue;
        const payload = p.flags && this.opts.prepare ? this.opts.prepare(p, stored) : stored;
        if (!payload) continue;
        if (!publisher.publish(this.opts.topic(p.metric), payload)) break;
        outbox.markSent(p.seq, now);
        this.window.sent(p.seq, now + resendAfterMs(this.opts.confirmTimeoutMs, p.sends + 1));
        this.cursor = p.seq + 1;
        this.tokens--;
        this.replayedTotal++;
        if (p.sentAt > 0) this.resentTotal++;
      }
    }
    this.schedule();
  }
}
