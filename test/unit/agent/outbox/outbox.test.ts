import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../common/log.js';
import { Outbox, type OutboxOptions } from '../../../../agent/outbox/outbox.js';
import { crc32 } from '../../../../agent/outbox/crc32.js';
import { FLAG_TIME_UNSYNCHRONIZED } from '../../../../agent/outbox/record.js';

const dirs: string[] = [];

const boxes: Outbox[] = [];

afterEach(() => {
  for (const b of boxes.splice(0)) {
    try {
      b.close();
    } catch {
      // already closed or its files were removed by the test
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-outbox-'));
  dirs.push(d);
  return d;
}

function open(dir: string, o: Partial<OutboxOptions> = {}): Outbox {
  const b = Outbox.open(dir, { maxMessages: 1000, maxBytes: 1024 * 1024, log: silentLogger, ...o });
  boxes.push(b);
  return b;
}

const payloadOf = (seq: number) => Buffer.from(`payload-${seq}-${'x'.repeat(seq % 7)}`);

/** Appends n readings with fresh seqs; returns the seqs. */
function fill(b: Outbox, n: number, metric = 'cpu'): number[] {
  const seqs: number[] = [];
  for (let k = 0; k < n; k++) {
    const seq = b.allocateSeq();
    b.append(seq, metric, 1_700_000_000_000 + seq, payloadOf(seq));
    seqs.push(seq);
  }
  return seqs;
}

const heldSeqs = (b: Outbox) => b.due(0, 0, Number.MAX_SAFE_INTEGER).map((p) => p.seq);

const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.startsWith('segment-')).sort();

describe('outbox', () => {
  it('holds appended readings until their seqs are confirmed', () => {
    const b = open(tmpDir());
    const seqs = fill(b, 5);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(b.stats().messages).toBe(5);
    expect(b.read(3)).toEqual(payloadOf(3));
    expect(b.stats().oldestSampleTimeMs).toBe(1_700_000_000_001);

    expect(b.confirm([[1, 2], [4, 4], [99, 120]])).toBe(3);
    expect(heldSeqs(b)).toEqual([3, 5]);
    expect(b.read(1)).toBeUndefined();
    expect(b.stats().oldestSampleTimeMs).toBe(1_700_000_000_003);
    expect(b.confirm([[1, 4]])).toBe(1);
    expect(b.stats().messages).toBe(1);
  });

  it('lists never-sent and timed-out readings, oldest first, up to a limit', () => {
    const b = open(tmpDir());
    fill(b, 4);
    b.markSent(1, 1000);
    b.markSent(2, 5000);
    expect(b.due(5500, 1000, 10).map((p) => [p.seq, p.sentAt])).toEqual([[1, 1000], [3, 0], [4, 0]]);
    expect(b.due(5500, 1000, 2).map((p) => p.seq)).toEqual([1, 3]);
    expect(b.due(6000, 1000, 10).map((p) => p.seq)).toEqual([1, 2, 3, 4]);
    // from a cursor, wrapping around to the oldest
    expect(b.due(6000, 1000, 10, 3).map((p) => p.seq)).toEqual([3, 4, 1, 2]);
    expect(b.due(6000, 1000, 3, 99).map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('waits twice as long after each send without a confirmation, at most 8 timeouts', () => {
    const b = open(tmpDir());
    fill(b, 2);
    b.markSent(1, 0);
    b.markSent(2, 0);
    b.markSent(2, 1000); // sent again: the next is due 2 timeouts later
    expect(b.due(2000, 1000, 10).map((p) => [p.seq, p.sends])).toEqual([[1, 1]]);
    expect(b.due(3000, 1000, 10).map((p) => [p.seq, p.sends])).toEqual([[1, 1], [2, 2]]);
    for (let i = 0; i < 10; i++) b.markSent(2, 10_000);
    expect(b.due(17_999, 1000, 10).map((p) => p.seq)).toEqual([1]);
    expect(b.due(18_000, 1000, 10).map((p) => p.seq)).toEqual([1, 2]);
  });

  it('keeps record flags across a restart, and holds back seqs from holdFromSeq on', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 2);
    for (let k = 0; k < 3; k++) {
      const seq = b.allocateSeq();
      b.append(seq, 'mem', 1_600_000_000_000, payloadOf(seq), FLAG_TIME_UNSYNCHRONIZED);
    }
    expect(b.firstWithFlags(FLAG_TIME_UNSYNCHRONIZED)).toBe(3);
    expect(b.due(0, 0, 100, 0, 3).map((p) => p.seq)).toEqual([1, 2]);
    // The round robin's wrap-around respects the hold too.
    expect(b.due(0, 0, 100, 4, 3).map((p) => p.seq)).toEqual([1, 2]);
    b.close();
    const again = open(dir);
    expect(again.due(0, 0, 100).map((p) => [p.seq, p.flags])).toEqual([[1, 0], [2, 0], [3, 1], [4, 1], [5, 1]]);
    expect(again.firstWithFlags(FLAG_TIME_UNSYNCHRONIZED)).toBe(3);
    again.confirm([[3, 5]]);
    expect(again.firstWithFlags(FLAG_TIME_UNSYNCHRONIZED)).toBeUndefined();
  });

  it('reads records of the first format (no flags byte) that an older agent left', () => {
    const dir = tmpDir();
    // [u32 len][u32 crc][u8 1][f64 seq][f64 time][u8 metricLength][metric][payload]
    const metric = Buffer.from('cpu', 'latin1');
    const payload = Buffer.from('old payload');
    const body = Buffer.alloc(1 + 8 + 8 + 1 + metric.length + payload.length);
    body[0] = 1;
    body.writeDoubleLE(7, 1);
    body.writeDoubleLE(1_700_000_000_000, 9);
    body[17] = metric.length;
    metric.copy(body, 18);
    payload.copy(body, 18 + metric.length);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(body.length, 0);
    head.writeUInt32LE(crc32(body), 4);
    fs.writeFileSync(path.join(dir, 'segment-000000000001.log'), Buffer.concat([head, body]));
    const b = open(dir);
    expect(b.due(0, 0, 10)).toEqual([{ seq: 7, metric: 'cpu', flags: 0, sentAt: 0, sends: 0 }]);
    expect(b.read(7)?.toString()).toBe('old payload');
    expect(b.allocateSeq()).toBe(8);
  });

  it('refuses seqs that do not increase', () => {
    const b = open(tmpDir());
    fill(b, 2);
    expect(() => b.append(2, 'cpu', 0, Buffer.from('x'))).toThrow(/not above/);
  });

  it('drops the oldest readings when maxMessages is reached, and counts them', () => {
    const dir = tmpDir();
    const b = open(dir, { maxMessages: 10 });
    fill(b, 15);
    expect(b.stats()).toMatchObject({ messages: 10, droppedTotal: 5 });
    expect(heldSeqs(b)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    b.close();
    // the drop is persistent: the dropped ones do not come back
    const again = open(dir, { maxMessages: 10 });
    expect(heldSeqs(again)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('drops the oldest readings when maxBytes is reached', () => {
    const b = open(tmpDir(), { maxBytes: 2000 });
    for (let k = 0; k < 30; k++) b.append(b.allocateSeq(), 'mem', 0, Buffer.alloc(200, k));
    const s = b.stats();
    expect(s.bytes).toBeLessThanOrEqual(2000);
    expect(s.messages).toBeGreaterThan(5);
    expect(s.droppedTotal).toBe(30 - s.messages);
    expect(heldSeqs(b).at(-1)).toBe(30);
    expect(() => b.append(b.allocateSeq(), 'mem', 0, Buffer.alloc(3000))).toThrow(/exceeds outbox.maxBytes/);
  });

  it('shrinks to smaller bounds given at the next open', () => {
    const dir = tmpDir();
    fill(open(dir), 50);
    const b = open(dir, { maxMessages: 20 });
    expect(heldSeqs(b)).toEqual(Array.from({ length: 20 }, (_, i) => 31 + i));
    expect(b.stats().droppedTotal).toBe(30);
  });

  it('recovers unconfirmed readings after a clean restart, seq continuing without a gap', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 20);
    b.markSent(5, 123);
    b.confirm([[1, 10], [15, 15]]);
    b.close();
    const again = open(dir);
    expect(heldSeqs(again)).toEqual([11, 12, 13, 14, 16, 17, 18, 19, 20]);
    expect(again.due(0, 1e9, 100).every((p) => p.sentAt === 0)).toBe(true); // all unconfirmed count as unsent
    expect(again.read(16)).toEqual(payloadOf(16));
    expect(again.allocateSeq()).toBe(21);
  });

  it('recovers after a crash (files never closed): nothing confirmed returns, seq keeps increasing', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 30);
    b.confirm([[1, 12]]);
    // no close(): like kill -9, only what reached the files counts
    const again = open(dir);
    expect(heldSeqs(again)).toEqual(Array.from({ length: 18 }, (_, i) => 13 + i));
    expect(again.allocateSeq()).toBeGreaterThan(30);
  });

  it('skips a torn last record (kill -9 or power cut mid-write) and keeps the earlier ones', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 10);
    const [seg] = segmentFiles(dir);
    const file = path.join(dir, seg!);
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const again = open(dir);
    expect(heldSeqs(again)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(again.stats().corruptTotal).toBe(1);
    expect(again.read(9)).toEqual(payloadOf(9));
    // new records after the cut are readable after another restart
    const [seq] = fill(again, 1);
    again.close();
    const third = open(dir);
    expect(heldSeqs(third)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, seq]);
    expect(third.stats().corruptTotal).toBe(0);
  });

  it('survives garbage at the end of segment and done files', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 8);
    b.confirm([[2, 3]]);
    for (const name of [...segmentFiles(dir), 'done.log']) fs.appendFileSync(path.join(dir, name), Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    const again = open(dir);
    expect(heldSeqs(again)).toEqual([1, 4, 5, 6, 7, 8]);
    expect(again.stats().corruptTotal).toBe(2);
  });

  it('a record damaged in place is dropped when read, not sent', () => {
    const dir = tmpDir();
    const b = open(dir);
    fill(b, 3);
    const file = path.join(dir, segmentFiles(dir)[0]!);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('Z'), 0, 1, 30); // inside record 1's body
    fs.closeSync(fd);
    expect(b.read(1)).toBeUndefined();
    expect(b.stats()).toMatchObject({ messages: 2, droppedTotal: 1, corruptTotal: 1 });
    expect(b.read(2)).toEqual(payloadOf(2));
  });

  it('rotates segments and deletes those fully confirmed', () => {
    const dir = tmpDir();
    const b = open(dir, { segmentBytes: 1024 });
    const seqs = fill(b, 100);
    const all = segmentFiles(dir);
    expect(all.length).toBeGreaterThanOrEqual(4);
    b.confirm([[1, 50]]);
    const left = segmentFiles(dir);
    expect(left.length).toBeLessThan(all.length);
    expect(left).toEqual(all.slice(all.length - left.length)); // the oldest went first
    expect(left.length).toBe(b.stats().segments);
    b.confirm([[51, 100]]);
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(1); // at most the small active segment
    expect(b.stats().messages).toBe(0);
    b.close();
    const again = open(dir, { segmentBytes: 1024 });
    expect(again.stats().messages).toBe(0);
    expect(segmentFiles(dir)).toEqual([]);
    expect(again.allocateSeq()).toBe(seqs.at(-1)! + 1);
  });

  it('keeps done.log small under many out-of-order confirmations', () => {
    const dir = tmpDir();
    const b = open(dir, { maxMessages: 50_000, maxBytes: 64 * 1024 * 1024 });
    fill(b, 40_000);
    // confirm every odd seq one by one, then the even ones
    for (let s = 1; s <= 40_000; s += 2) b.confirm([[s, s]]);
    expect(fs.statSync(path.join(dir, 'done.log')).size).toBeLessThan(2 * 1024 * 1024);
    expect(b.stats().messages).toBe(20_000);
    b.close();
    const again = open(dir, { maxMessages: 50_000, maxBytes: 64 * 1024 * 1024 });
    expect(again.stats().messages).toBe(20_000);
    expect(heldSeqs(again).slice(0, 3)).toEqual([2, 4, 6]);
    for (let s = 2; s <= 40_000; s += 2) again.confirm([[s, s]]);
    expect(again.stats().messages).toBe(0);
    expect(fs.statSync(path.join(dir, 'done.log')).size).toBeLessThan(300 * 1024);
  });

  it('holds 100k readings with a small in-memory index (no payloads in memory)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    // Backing stores of freed Buffers are released by GC sweeping, which may finish after gc()
    // returns on a busy machine: collect until the figure settles.
    const used = async () => {
      let last = Infinity;
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
        const m = process.memoryUsage();
        const now = m.heapUsed + m.arrayBuffers;
        if (Math.abs(now - last) < 256 * 1024) return now;
        last = now;
      }
      return last;
    };
    const dir = tmpDir();
    const opts = { maxMessages: 200_000, maxBytes: 256 * 1024 * 1024 };
    const before = await used();
    const b = open(dir, opts);
    const payload = Buffer.alloc(200, 7);
    for (let k = 0; k < 100_000; k++) b.append(b.allocateSeq(), k % 2 ? 'cpu' : 'mem', k, payload);
    const grown = (await used()) - before;
    expect(b.stats().messages).toBe(100_000);
    expect(b.stats().bytes).toBeGreaterThan(100_000 * 200); // ~23 MB of readings on disk...
    expect(grown).toBeLessThan(12 * 1024 * 1024); // ...but only the index in memory
    b.close();

    const before2 = await used();
    const again = open(dir, opts);
    expect(again.stats().messages).toBe(100_000);
    expect((await used()) - before2).toBeLessThan(12 * 1024 * 1024);
    expect(again.read(100_000)).toEqual(payload);
    expect(again.confirm([[1, 99_990]])).toBe(99_990);
    expect(heldSeqs(again)).toHaveLength(10);
  });
});
