// The broker's message queue (Aedes' `mq`): mqemitter, with two changes (README "Scaling").
//
// 1. No recursion. mqemitter 7.1 drains its queue of waiting publishes by recursion: when
//    a delivery slot frees, `released` takes the next message and `_do` emits it, and a
//    message whose handlers all finish synchronously (no subscriber online, say) frees its
//    slot inside that call, so `released` runs again one frame deeper, once per queued
//    message. A deep enough queue overflows the stack and the broker exits (`RangeError:
//    Maximum call stack size exceeded`, seen at 10,000 agents). Upstream fix still open:
//    mcollina/mqemitter#204 (its setImmediate per message was refused as too slow). Here
//    `released` is a trampoline: a release that happens while the queue is being drained
//    is only counted, and the outer loop takes the next message. Same order, same slots,
//    constant stack. The queue itself is a ring buffer, not an array shifted from the
//    front.
// 2. A bound. When more than `highWater` publishes wait for a delivery slot, `onHigh` is
//    called (the broker stops reading from agents' sockets, TCP pushes back to them and
//    their readings wait in their outboxes); once the queue is down to `lowWater`, `onLow`.
// 3. A fast lane. Publishes for which `fast(topic)` holds (the ingestor's confirmations)
//    are delivered before the readings waiting: they are what lets agents empty their
//    outboxes, they go to agents that read at once, and behind a backlog of readings for
//    a busy ingestor they starved (seen at 10,000 agents: readings stored, confirmations
//    stuck in the queue).
//
// Only the single broker's in-process emitter is wrapped; broker.cluster uses mqemitter-redis.
import fastparallel from 'fastparallel';
import mqemitter from 'mqemitter';

/** mqemitter 7.1's private surface used here (checked at construction, so an upgrade that changes it fails at start, not under load). */
interface MqInternals {
  current: number;
  _doing: boolean;
  _messageQueue: { push(m: unknown): number; shift(): unknown; readonly length: number };
  _messageCallbacks: { push(m: unknown): number; shift(): unknown; readonly length: number };
  _parallel: (that: unknown, matches: unknown[], message: unknown, done: unknown) => void;
  _released: () => void;
  _do: (message: unknown, callback: unknown) => void;
  emit: (message: { topic: string }, cb?: (err?: Error) => void) => unknown;
  readonly length: number;
}

/** First-in first-out queue on a growable ring: push and shift in O(1) at any depth. */
export class Ring<T> {
  #items: (T | undefined)[] = new Array(1024);
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(item: T): number {
    if (this.#size === this.#items.length) {
      const old = this.#items;
      const grown: (T | undefined)[] = new Array(old.length * 2);
      for (let i = 0; i < this.#size; i++) grown[i] = old[(this.#head + i) % old.length];
      this.#items = grown;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    return ++this.#size;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }
}

/**
 * mqemitter's two parallel queues (messages, callbacks; emit pushes one to each, released
 * shifts one from each) over two lanes: a message goes to the fast lane when `fast` says so.
 */
class Lanes {
  readonly #fastLane = new Ring<[unknown, unknown]>();
  readonly #slowLane = new Ring<[unknown, unknown]>();
  readonly messages: MqInternals['_messageQueue'];
  readonly callbacks: MqInternals['_messageCallbacks'];

  constructor(fast: (topic: string) => boolean) {
    let pushed: unknown;
    let shiftedCallback: unknown;
    const length = () => this.length;
    this.messages = {
      push: (m: unknown) => {
        pushed = m;
        return length() + 1;
      },
      shift: () => {
        const e = this.#fastLane.shift() ?? this.#slowLane.shift();
        shiftedCallback = e?.[1];
        return e?.[0];
      },
      get length() {
        return length();
      },
    };
    this.callbacks = {
      push: (cb: unknown) => {
        const topic = (pushed as { topic?: unknown } | undefined)?.topic;
        (typeof topic === 'string' && fast(topic) ? this.#fastLane : this.#slowLane).push([pushed, cb]);
        pushed = undefined;
        return length();
      },
      shift: () => {
        const cb = shiftedCallback;
        shiftedCallback = undefined;
        return cb;
      },
      get length() {
        return length();
      },
    };
  }

  get length(): number {
    return this.#fastLane.length + this.#slowLane.length;
  }
}

export interface EmitterOptions {
  /** Deliveries in progress at once (Aedes' default: 100). */
  concurrency: number;
  /** Waiting publishes above which onHigh is called. */
  highWater: number;
  /** Waiting publishes at or below which onLow is called (after onHigh). */
  lowWater: number;
  onHigh(waiting: number): void;
  onLow(waiting: number): void;
  /** Topics delivered before the others waiting (confirmations). */
  fast(topic: string): boolean;
}

export interface BoundedEmitter {
  /** The emitter to pass to Aedes as `mq`. */
  readonly mq: unknown;
  /** Publishes waiting for a delivery slot now. */
  readonly waiting: number;
  /** Most publishes that waited at once since start. */
  readonly peakWaiting: number;
  readonly high: boolean;
}

export function createBoundedEmitter(opts: EmitterOptions): BoundedEmitter {
  const mq = mqemitter({ concurrency: opts.concurrency }) as unknown as MqInternals;
  for (const k of ['_messageQueue', '_messageCallbacks', '_parallel', '_released', '_do', 'current', '_doing'] as const) {
    if (!(k in mq)) throw new Error(`mqemitter internals changed (no ${k}): recheck broker/emitter.ts against mcollina/mqemitter#204`);
  }
  const lanes = new Lanes(opts.fast);
  mq._messageQueue = lanes.messages;
  mq._messageCallbacks = lanes.callbacks;

  let high = false;
  let peak = 0;
  let draining = false;
  let owed = 0;
  const released = () => {
    owed++;
    if (draining) return; // the loop below takes it
    draining = true;
    try {
      while (owed > 0) {
        owed--;
        mq.current--;
        const message = mq._messageQueue.shift();
        const callback = mq._messageCallbacks.shift();
        if (message) mq._do(message, callback);
        else mq._doing = false;
      }
    } finally {
      draining = false;
    }
    if (high && mq._messageQueue.length <= opts.lowWater) {
      high = false;
      opts.onLow(mq._messageQueue.length);
    }
  };
  // fastparallel's `released` hook is fixed when the holder pool is made: rebuild it with ours.
  mq._parallel = fastparallel({ results: false, released }) as MqInternals['_parallel'];
  mq._released = released;

  const emit = mq.emit.bind(mq);
  mq.emit = (message, cb) => {
    const r = emit(message, cb);
    const waiting = mq._messageQueue.length;
    if (waiting > peak) peak = waiting;
    if (!high && waiting > opts.highWater) {
      high = true;
      opts.onHigh(waiting);
    }
    return r;
  };

  return {
    mq,
    get waiting() {
      return mq._messageQueue.length;
    },
    get peakWaiting() {
      return peak;
    },
    get high() {
      return high;
    },
  };
}
