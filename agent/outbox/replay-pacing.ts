// How an agent sends its outbox again (README "What happens when things fail", "Sent again
// when"), shared by the agent's replayer (runtime/replay.ts) and the benchmark's simulated
// agents (bench/load-worker.ts), so the fleet the bench throws at the broker re-sends as the
// real one does.
//
// A fleet coming back after a broker restart must offer what the pipeline confirms, not
// `replayPerSecond` times the number of agents (500,000 readings/s at 10,000 agents, which
// starved the ingestor's own reconnect). So the replay is paced by confirmations, like TCP's
// congestion window: each agent keeps at most `window` replayed readings awaiting their
// confirmation. After a connect the window starts small (`initial`) and grows by one per
// reading confirmed (slow start: it doubles every round trip) up to `threshold`, then by one
// per window's worth (additive increase); a replayed reading whose confirmation does not come
// in time halves it (multiplicative decrease), at most once per round of expiries. And a
// reading sent again without a confirmation waits longer before the next time
// (resendAfterMs: the confirm timeout, doubled per send, at most MAX_BACKOFF_FACTOR times).

/** A reading sent this many times without a confirmation waits at most this many confirm timeouts before the next. */
export const MAX_BACKOFF_FACTOR = 8;

/** How long after its `sends`-th send (1: the first) a reading without a confirmation is due again. */
export function resendAfterMs(confirmTimeoutMs: number, sends: number): number {
  return confirmTimeoutMs * Math.min(MAX_BACKOFF_FACTOR, 2 ** Math.max(0, sends - 1));
}

export interface ReplayWindowOptions {
  /** Replayed readings awaiting confirmation right after a connect. */
  readonly initial: number;
  /** Never more than this many. */
  readonly max: number;
}

export const REPLAY_WINDOW: ReplayWindowOptions = { initial: 4, max: 100 };

/** The replayed readings awaiting confirmation (seq -> when they are given up on) and how many may be. */
export class ReplayWindow {
  #size: number;
  #threshold: number;
  readonly #pending = new Map<number, number>();

  constructor(private readonly opts: ReplayWindowOptions = REPLAY_WINDOW) {
    this.#size = opts.initial;
    this.#threshold = opts.max;
  }

  /** Replayed readings that may be sent now. */
  get room(): number {
    return Math.max(0, Math.floor(this.#size) - this.#pending.size);
  }

  get size(): number {
    return Math.floor(this.#size);
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** After a (re)connect: start small again; what was awaited on the old connection no longer counts. */
  reset(): void {
    this.#size = this.opts.initial;
    this.#pending.clear();
  }

  /** A replayed reading went out; it counts against the window until confirmed or `deadline` (monotonic ms). */
  sent(seq: number, deadline: number): void {
    this.#pending.set(seq, deadline);
  }

  /** Confirmation of the seqs in these ranges (inclusive): the window grows per replayed reading confirmed. */
  confirmed(ranges: readonly (readonly [number, number])[]): number {
    let n = 0;
    for (const seq of this.#pending.keys()) {
      if (!ranges.some(([from, to]) => seq >= from && seq <= to)) continue;
      this.#pending.delete(seq);
      n++;
      this.#size = Math.min(this.opts.max, this.#size < this.#threshold ? this.#size + 1 : this.#size + 1 / this.#size);
    }
    return n;
  }

  /** Gives up on what is past its deadline; if anything was, the window halves. Returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [seq, deadline] of this.#pending) {
      if (deadline > now) continue;
      this.#pending.delete(seq);
      n++;
    }
    if (n > 0) {
      this.#threshold = Math.max(this.opts.initial, this.#size / 2);
      this.#size = this.#threshold;
    }
    return n;
  }
}
