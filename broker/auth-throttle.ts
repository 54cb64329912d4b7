// Slows down and summarises failed logins per client address. Each failure adds 1 to the
// address's score, which halves every halfLifeMs; the refusal is delayed
// baseDelayMs * 2^(score-1), at most maxDelayMs. The first failure of a burst is logged in
// full; later ones are counted and summed up in one line per summaryIntervalMs, so 200
// failures make two lines, not 200. At most maxAddresses are remembered.
import type { Logger } from '../common/log.js';

export interface AuthThrottleOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  halfLifeMs: number;
  summaryIntervalMs: number;
  maxAddresses: number;
}

/** What the first failure of a burst logs besides address and reason. */
export interface FailureDetails {
  username?: string;
  clientId?: string;
}

interface Entry {
  score: number;
  /** Time of the last failure. */
  at: number;
  /** A burst is on: the first failure was logged and later ones are being counted. */
  burst: boolean;
  unlogged: number;
  unloggedSince: number;
  reasons: Record<string, number>;
}

/** A score this small counts as forgotten. */
const FORGOTTEN = 0.05;

export class AuthThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly opts: AuthThrottleOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => this.sweep(), opts.summaryIntervalMs);
    this.#timer.unref();
  }

  /** Addresses currently remembered (for tests and dashboards). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records a failed login and returns how long to wait before sending the refusal. */
  failure(address: string, reason: string, details: FailureDetails = {}): number {
    const now = this.now();
    let e = this.#entries.get(address);
    if (e) {
      this.#entries.delete(address); // re-inserted below: Map order is least recently failed first
      e.score = this.#decayed(e, now) + 1;
    } else {
      e = { score: 1, at: now, burst: false, unlogged: 0, unloggedSince: now, reasons: {} };
      this.#evictOldest();
    }
    e.at = now;
    this.#entries.set(address, e);
    const delayMs = Math.min(this.opts.maxDelayMs, Math.round(this.opts.baseDelayMs * 2 ** (e.score - 1)));
    if (!e.burst) {
      e.burst = true;
      this.log.warn({ address, reason, ...details, delayMs }, 'login refused');
    } else {
      if (e.unlogged === 0) e.unloggedSince = now;
      e.unlogged++;
      e.reasons[reason] = (e.reasons[reason] ?? 0) + 1;
    }
    return delayMs;
  }

  /** Logs one summary per address with failures not yet logged; ends quiet bursts; forgets decayed addresses. */
  sweep(): void {
    const now = this.now();
    for (const [address, e] of this.#entries) {
      if (e.unlogged > 0) {
        this.#summarise(address, e, now);
      } else if (e.burst && now - e.at >= this.opts.summaryIntervalMs) {
        e.burst = false;
      }
      if (!e.burst && this.#decayed(e, now) < FORGOTTEN) this.#entries.delete(address);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sweep();
  }

  #decayed(e: Entry, now: number): number {
    return e.score * 0.5 ** ((now - e.at) / this.opts.halfLifeMs);
  }

  #summarise(address: string, e: Entry, now: number) {
    const seconds = Math.max(1, Math.round((now - e.unloggedSince) / 1000));
    this.log.warn({ address, failures: e.unlogged, seconds, reasons: e.reasons }, 'repeated login failures from one address');
    e.unlogged = 0;
    e.reasons = {};
  }

  #evictOldest() {
    while (this.#entries.size >= this.opts.maxAddresses) {
      const [address, e] = this.#entries.entries().next().value as [string, Entry];
      if (e.unlogged > 0) this.#summarise(address, e, this.now());
      this.#entries.delete(address);
    }
  }
}
