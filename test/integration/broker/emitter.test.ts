// The broker's message queue (broker/emitter.ts) on a real mqemitter: the fast lane for
// confirmations, the high/low water calls, and a drain without recursion.
import { describe, expect, it } from 'vitest';
import { createBoundedEmitter } from '../../../broker/emitter.js';

type Mq = { on(topic: string, fn: (m: { topic: string }, cb: () => void) => void): void; emit(m: { topic: string }, cb?: () => void): void };

function emitter(concurrency: number, highWater = 1e9, lowWater = 0) {
  const calls: string[] = [];
  const e = createBoundedEmitter({ concurrency, highWater, lowWater, fast: (t) => t.endsWith('/confirm/stored'), onHigh: (n) => calls.push(`high ${n}`), onLow: (n) => calls.push(`low ${n}`) });
  return { e, mq: e.mq as Mq, calls };
}

describe('bounded emitter', () => {
  it('delivers confirmations before the readings waiting, each lane in order', async () => {
    const { mq } = emitter(1);
    const got: string[] = [];
    mq.on('machmon/#', (m, cb) => {
      got.push(m.topic);
      setImmediate(cb);
    });
    const done = new Promise<void>((resolve) => {
      let n = 0;
      const cb = () => ++n === 6 && resolve();
      for (let i = 1; i <= 4; i++) mq.emit({ topic: `machmon/pi-1/cpu${i}` }, cb);
      mq.emit({ topic: 'machmon/pi-1/confirm/stored' }, cb);
      mq.emit({ topic: 'machmon/pi-2/confirm/stored' }, cb);
    });
    await done;
    expect(got).toEqual(['machmon/pi-1/cpu1', 'machmon/pi-1/confirm/stored', 'machmon/pi-2/confirm/stored', 'machmon/pi-1/cpu2', 'machmon/pi-1/cpu3', 'machmon/pi-1/cpu4']);
  });

  it('drains 300,000 queued messages without subscribers in a loop, calling onHigh and onLow once', async () => {
    const { e, mq, calls } = emitter(1, 1000, 10);
    let release!: () => void;
    mq.on('hold', (_m, cb) => (release = cb));
    mq.emit({ topic: 'hold' });
    let delivered = 0;
    for (let i = 0; i < 300_000; i++) mq.emit({ topic: `nobody/${i}` }, () => delivered++);
    expect(e.waiting).toBe(300_000);
    expect(calls).toEqual(['high 1001']);
    release(); // with mqemitter's own drain: RangeError (mcollina/mqemitter#204)
    expect(delivered).toBe(300_000);
    expect(e.waiting).toBe(0);
    expect(calls).toEqual(['high 1001', 'low 0']);
    expect(e.peakWaiting).toBe(300_000);
  });
});
