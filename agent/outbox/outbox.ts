// The agent's on-disk outbox: every reading is written here before it is
// published and stays until the ingestor confirms it stored (or rejected it for good).
//
// Layout of <dir>:
//   segment-<12 digits>.log   append-only data records, rotated at segmentBytes
//   done.log                  append-only records of seq ranges that are finished
//                             (confirmed, or dropped because the outbox was full)
//   seq                       {"reservedUpTo": n}: seqs up to n may have been used
//
// Records are CRC-framed (record.ts): a file torn by kill -9 or a power cut is cut back to its
// last good record on open and the rest of the outbox is kept.
// A segment is deleted once every record in it is finished; done.log is rewritten (tmp +
// rename) from the in-memory index when it grows, so both stay small.
//
// In memory there is only an index of the unfinished records (entry-index.ts), never the
// payloads. Seqs are allocated here and persisted in blocks, so they keep
// increasing across restarts and crashes.
import fs from 'node:fs';
import path from 'node:path';
import { seqsToRanges, type SeqRange } from '../../common/ranges.js';
import type { Logger } from '../../common/log.js';
import { EntryIndex } from './entry-index.js';
import { resendAfterMs } from './replay-pacing.js';
import { decodeData, decodeDone, encodeData, encodeDone, fsyncDir, HEADER, scanRecords, unframe, writeAll, writeFileAtomic, type DataRecord } from './record.js';

export interface OutboxOptions {
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Rotate the active segment at this size (default maxBytes/16, within 64 KiB..8 MiB). */
  readonly segmentBytes?: number;
  /** fdatasync written files at most this often (0: only on rotation and close). */
  readonly syncIntervalMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface OutboxStats {
  /** Unfinished readings held. */
  readonly messages: number;
  /** Their size on disk, record headers included. */
  readonly bytes: number;
  /** Sample time of the oldest unfinished reading. */
  readonly oldestSampleTimeMs?: number;
  /** Readings dropped (outbox full, unreadable on disk) since open. */
  readonly droppedTotal: number;
  /** Damaged records found on open or on read since open (torn tails, garbage). */
  readonly corruptTotal: number;
  readonly segments: number;
}

export interface PendingReading {
  readonly seq: number;
  readonly metric: string;
  /** Record flags (record.ts FLAG_*). */
  readonly flags: number;
  /** 0 when never sent since open. */
  readonly sentAt: number;
  /** Times sent since open (0: never). */
  readonly sends: number;
}

const SEGMENT_RE = /^segment-(\d{12})\.log$/;
const DONE_FILE = 'done.log';
const SEQ_FILE = 'seq';
/** Seqs reserved per write of the seq file: a crash skips at most this many. */
const SEQ_BLOCK = 1000;
const RANGES_PER_DONE_RECORD = 4096;
const DONE_COMPACT_MIN = 256 * 1024;
const DROP_LOG_EVERY_MS = 60_000;

const segmentName = (id: number) => `segment-${String(id).padStart(12, '0')}.log`;

interface Segment {
  readonly id: number;
  readonly file: string;
  fd: number;
  size: number;
  live: number;
  readonly firstSeq: number;
}

export class Outbox {
  private readonly index = new EntryIndex();
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSegmentId = 1;
  private readonly metricIds = new Map<string, number>();
  private readonly metricNames: string[] = [];
  private doneFd = -1;
  private doneSize = 0;
  private doneCompactAt = DONE_COMPACT_MIN;
  private lastSeq = 0;
  private nextSeq = 1;
  private reservedUpTo = 0;
  private dirty = false;
  private closed = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private droppedTotal = 0;
  private corruptTotal = 0;
  private dropsSinceLog = 0;
  private lastDropLog = 0;
  private readonly segmentBytes: number;
  private readonly now: () => number;

  private constructor(
    readonly dir: string,
    private readonly opts: OutboxOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.maxBytes / 16)));
    this.now = opts.now ?? Date.now;
  }

  /** Opens (creating if needed) the outbox in dir and recovers what a crash left behind. */
  static open(dir: string, opts: OutboxOptions): Outbox {
    fs.mkdirSync(dir, { recursive: true });
    const box = new Outbox(dir, opts);
    box.load();
    if (opts.syncIntervalMs) {
      box.syncTimer = setInterval(() => box.syncSafely(), opts.syncIntervalMs);
      box.syncTimer.unref();
    }
    return box;
  }

  /** The next sequence number; never handed out twice for this directory. */
  allocateSeq(): number {
    this.assertOpen();
    const seq = this.nextSeq++;
    if (seq > this.reservedUpTo) {
      this.reservedUpTo = seq + SEQ_BLOCK - 1;
      this.writeSeqFile(this.reservedUpTo);
    }
    return seq;
  }

  /**
   * Writes one reading (seq from allocateSeq, increasing). When the outbox is full the
   * oldest readings are dropped first. Throws when the disk refuses the write (the reading
   * is then not held) or when the record alone exceeds maxBytes.
   */
  append(seq: number, metric: string, sampleTimeMs: number, payload: Uint8Array, flags = 0): void {
    this.assertOpen();
    if (!(seq > this.lastSeq)) throw new RangeError(`outbox: seq ${seq} is not above the last one (${this.lastSeq})`);
    const rec = encodeData(seq, sampleTimeMs, metric, payload, flags);
    if (rec.length > this.opts.maxBytes) {
      throw new RangeError(`outbox: a ${metric} reading of ${rec.length} bytes exceeds outbox.maxBytes (${this.opts.maxBytes})`);
    }
    this.makeRoom(1, rec.length);
    const seg = this.activeSegment(rec.length);
    try {
      writeAll(seg.fd, rec);
    } catch (err) {
      // Do not leave a torn record in the middle of a segment: cut it off, or start a new one.
      try {
        fs.ftruncateSync(seg.fd, seg.size);
      } catch {
        this.rotate();
      }
      throw err;
    }
    this.index.push(seq, this.metricId(metric), seg.id, seg.size, rec.length, sampleTimeMs, flags);
    seg.size += rec.length;
    seg.live++;
    this.lastSeq = seq;
    this.dirty = true;
  }

  /** Records that a reading was (re)sent now. */
  markSent(seq: number, at = this.now()): void {
    const i = this.index.find(seq);
    if (i < 0) return;
    this.index.sent[i] = at;
    if (this.index.sends[i]! < 255) this.index.sends[i]!++;
  }

  /** Finishes every held reading inside the ranges; returns how many were held. */
  confirm(ranges: readonly SeqRange[]): number {
    this.assertOpen();
    const removed: number[] = [];
    for (const [from, to] of ranges) {
      for (let i = this.index.lowerBound(from); i < this.index.tail && this.index.seq[i]! <= to; i++) {
        if (this.index.size[i] === 0) continue;
        removed.push(this.index.seq[i]!);
        this.removeAt(i);
      }
    }
    if (removed.length) this.finish(removed.sort((a, b) => a - b));
    return removed.length;
  }

  /**
   * Readings to send: never sent since open, or sent without a confirmation at least
   * resendAfterMs(timeoutMs, sends) ago (the timeout doubles per send, replay-pacing.ts);
   * at most limit, in seq order starting at fromSeq and wrapping around to the oldest (a
   * replay cursor makes this a round robin, so a backlog larger than what the rate allows
   * within the timeout cannot starve the newer readings). Seqs from holdFromSeq on are held
   * back (readings whose time is not known yet).
   */
  due(now: number, timeoutMs: number, limit: number, fromSeq = 0, holdFromSeq = Infinity): PendingReading[] {
    const out: PendingReading[] = [];
    const ix = this.index;
    const start = this.index.lowerBound(fromSeq);
    const end = Math.min(ix.tail, this.index.lowerBound(holdFromSeq));
    const visit = (i: number) => {
      if (ix.size[i] === 0) return;
      const sent = ix.sent[i]!;
      if (sent === 0 || now - sent >= resendAfterMs(timeoutMs, ix.sends[i]!)) out.push({ seq: ix.seq[i]!, metric: this.metricNames[ix.metric[i]!]!, flags: ix.flags[i]!, sentAt: sent, sends: ix.sends[i]! });
    };
    for (let i = start; i < end && out.length < limit; i++) visit(i);
    for (let i = ix.head; i < Math.min(start, end) && out.length < limit; i++) visit(i);
    return out;
  }

  /** The payload of a held reading, or undefined when it is finished or unreadable (then dropped). */
  read(seq: number): Buffer | undefined {
    this.assertOpen();
    const i = this.index.find(seq);
    if (i < 0) return undefined;
    const seg = this.segments.get(this.index.seg[i]!)!;
    const buf = Buffer.allocUnsafe(this.index.size[i]!);
    let rec: DataRecord | undefined;
    try {
      const n = fs.readSync(seg.fd, buf, 0, buf.length, this.index.off[i]!);
      const body = unframe(buf, n);
      if (body) rec = decodeData(body);
    } catch (err) {
      this.opts.log.warn({ err, file: seg.file, seq }, 'outbox record unreadable');
    }
    if (rec?.seq === seq) return rec.payload;
    this.corruptTotal++;
    this.opts.log.warn({ file: seg.file, offset: this.index.off[i], seq }, 'outbox record damaged on disk, dropped');
    this.removeAt(i);
    this.droppedTotal++;
    this.finish([seq]);
    return undefined;
  }

  /** The lowest held seq with all of these flags, or undefined. */
  firstWithFlags(flags: number): number | undefined {
    const ix = this.index;
    for (let i = ix.head; i < ix.tail; i++) if (ix.size[i]! > 0 && (ix.flags[i]! & flags) === flags) return ix.seq[i]!;
    return undefined;
  }

  stats(): OutboxStats {
    const first = this.index.firstLive();
    return {
      messages: this.index.live,
      bytes: this.index.bytes,
      oldestSampleTimeMs: first >= 0 ? this.index.time[first] : undefined,
      droppedTotal: this.droppedTotal,
      corruptTotal: this.corruptTotal,
      segments: this.segments.size,
    };
  }

  /** Flushes written records to the disk (fdatasync). */
  sync(): void {
    if (!this.dirty || this.closed) return;
    if (this.active) fs.fdatasyncSync(this.active.fd);
    if (this.doneFd >= 0) fs.fdatasyncSync(this.doneFd);
    this.dirty = false;
  }

  /** Syncs, records the last seq used and closes the files. Idempotent. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.syncTimer);
    this.syncSafely();
    try {
      this.writeSeqFile(this.nextSeq - 1);
    } catch (err) {
      this.opts.log.warn({ err, dir: this.dir }, 'outbox seq file not written');
    }
    this.closed = true;
    for (const seg of this.segments.values()) fs.closeSync(seg.fd);
    this.segments.clear();
    this.active = undefined;
    if (this.doneFd >= 0) fs.closeSync(this.doneFd);
    this.doneFd = -1;
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.closed) throw new Error(`outbox ${this.dir} is closed`);
  }

  private syncSafely(): void {
    try {
      this.sync();
    } catch (err) {
      this.opts.log.warn({ err, dir: this.dir }, 'outbox sync failed');
    }
  }

  private metricId(metric: string): number {
    let id = this.metricIds.get(metric);
    if (id === undefined) {
      if (this.metricNames.length > 255) throw new RangeError('outbox: more than 256 metric names');
      id = this.metricNames.push(metric) - 1;
      this.metricIds.set(metric, id);
    }
    return id;
  }

  private removeAt(i: number): void {
    const seg = this.segments.get(this.index.remove(i));
    if (seg) seg.live--;
  }

  /** Persists that these seqs (sorted) are finished and frees segments that hold nothing live. */
  private finish(seqs: readonly number[]): void {
    const ranges = seqsToRanges(seqs, true);
    for (let k = 0; k < ranges.length; k += RANGES_PER_DONE_RECORD) {
      const rec = encodeDone(ranges.slice(k, k + RANGES_PER_DONE_RECORD));
      writeAll(this.doneFd, rec);
      this.doneSize += rec.length;
    }
    this.dirty = true;
    this.releaseSegments();
    if (this.doneSize > this.doneCompactAt) this.compactDone();
  }

  private releaseSegments(): void {
    for (const seg of [...this.segments.values()]) {
      if (seg.live > 0) continue;
      if (seg === this.active) {
        // Keep appending to a small active segment; a big finished one goes.
        if (seg.size < this.segmentBytes / 4) continue;
        this.active = undefined;
      }
      this.segments.delete(seg.id);
      fs.closeSync(seg.fd);
      try {
        fs.unlinkSync(seg.file);
      } catch (err) {
        this.opts.log.warn({ err, file: seg.file }, 'outbox segment not deleted');
      }
    }
  }

  private activeSegment(recordBytes: number): Segment {
    if (this.active && this.active.size > 0 && this.active.size + recordBytes > this.segmentBytes) this.rotate();
    if (!this.active) {
      const id = this.nextSegmentId++;
      const file = path.join(this.dir, segmentName(id));
      const seg: Segment = { id, file, fd: fs.openSync(file, 'a+'), size: 0, live: 0, firstSeq: this.lastSeq + 1 };
      this.segments.set(id, seg);
      this.active = seg;
      fsyncDir(this.dir);
    }
    return this.active;
  }

  private rotate(): void {
    const seg = this.active;
    if (!seg) return;
    try {
      fs.fdatasyncSync(seg.fd);
    } catch (err) {
      this.opts.log.warn({ err, file: seg.file }, 'outbox sync failed');
    }
    this.active = undefined;
    if (seg.live === 0) this.releaseSegments();
  }

  /** Drops the oldest readings until `count` more readings of `bytes` fit. */
  private makeRoom(count: number, bytes: number): void {
    const dropped: number[] = [];
    const ix = this.index;
    while (ix.live > 0 && (ix.live + count > this.opts.maxMessages || ix.bytes + bytes > this.opts.maxBytes)) {
      const i = ix.firstLive();
      dropped.push(ix.seq[i]!);
      this.removeAt(i);
    }
    if (!dropped.length) return;
    this.droppedTotal += dropped.length;
    this.dropsSinceLog += dropped.length;
    const now = this.now();
    if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
      this.opts.log.warn(
        { dropped: this.dropsSinceLog, droppedTotal: this.droppedTotal, maxMessages: this.opts.maxMessages, maxBytes: this.opts.maxBytes },
        'outbox full, oldest readings dropped',
      );
      this.lastDropLog = now;
      this.dropsSinceLog = 0;
    }
    this.finish(dropped);
  }

  /** Rewrites done.log with just the finished seqs that still lie in some segment. */
  private compactDone(): void {
    const ranges: SeqRange[] = [];
    const oldest = Math.min(...this.segments.keys());
    if (this.segments.size) {
      let cur = this.segments.get(oldest)!.firstSeq;
      const ix = this.index;
      for (let i = ix.head; i < ix.tail; i++) {
        if (ix.size[i] === 0) continue;
        const s = ix.seq[i]!;
        if (s > cur) ranges.push([cur, s - 1]);
        cur = s + 1;
      }
      if (cur <= this.lastSeq) ranges.push([cur, this.lastSeq]);
    }
    const parts: Buffer[] = [];
    for (let k = 0; k < ranges.length; k += RANGES_PER_DONE_RECORD) parts.push(encodeDone(ranges.slice(k, k + RANGES_PER_DONE_RECORD)));
    const data = Buffer.concat(parts);
    const file = path.join(this.dir, DONE_FILE);
    if (this.doneFd >= 0) fs.closeSync(this.doneFd);
    this.doneFd = -1;
    writeFileAtomic(file, data);
    this.doneFd = fs.openSync(file, 'a');
    this.doneSize = data.length;
    this.doneCompactAt = Math.max(DONE_COMPACT_MIN, 2 * data.length);
  }

  private writeSeqFile(upTo: number): void {
    writeFileAtomic(path.join(this.dir, SEQ_FILE), JSON.stringify({ reservedUpTo: upTo }) + '\n');
  }

  /** Cuts a file back to its last good record, logging what was lost. */
  private cutDamagedTail(file: string, goodEnd: number, fileSize: number): void {
    if (goodEnd >= fileSize) return;
    this.corruptTotal++;
    this.opts.log.warn({ file, offset: goodEnd, bytes: fileSize - goodEnd }, 'outbox file has a damaged or torn tail; cut back to the last good record');
    fs.truncateSync(file, goodEnd);
  }

  private load(): void {
    const log = this.opts.log;
    const names = fs.readdirSync(this.dir);
    const ids = names.flatMap((n) => SEGMENT_RE.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
    for (const n of names) if (n.endsWith('.tmp')) fs.rmSync(path.join(this.dir, n), { force: true });

    for (const id of ids) {
      const file = path.join(this.dir, segmentName(id));
      const buf = fs.readFileSync(file);
      const seg: Segment = { id, file, fd: -1, size: 0, live: 0, firstSeq: this.lastSeq + 1 };
      const end = scanRecords(buf, (body, offset) => {
        const rec = decodeData(body);
        if (!rec || rec.seq <= this.lastSeq) return false;
        this.index.push(rec.seq, this.metricId(rec.metric), id, offset, HEADER + body.length, rec.time, rec.flags);
        seg.live++;
        this.lastSeq = rec.seq;
        return true;
      });
      this.cutDamagedTail(file, end, buf.length);
      seg.size = end;
      seg.fd = fs.openSync(file, 'r');
      this.segments.set(id, seg);
      this.nextSegmentId = id + 1;
    }

    let maxDone = 0;
    const doneFile = path.join(this.dir, DONE_FILE);
    if (fs.existsSync(doneFile)) {
      const buf = fs.readFileSync(doneFile);
      const end = scanRecords(buf, (body) => {
        const ranges = decodeDone(body);
        if (!ranges) return false;
        for (const [from, to] of ranges) {
          maxDone = Math.max(maxDone, to);
          for (let i = this.index.lowerBound(from); i < this.index.tail && this.index.seq[i]! <= to; i++) {
            if (this.index.size[i]! > 0) this.removeAt(i);
          }
        }
        return true;
      });
      this.cutDamagedTail(doneFile, end, buf.length);
    }

    let reserved = 0;
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(this.dir, SEQ_FILE), 'utf8')) as { reservedUpTo?: unknown };
      if (Number.isSafeInteger(parsed.reservedUpTo)) reserved = parsed.reservedUpTo as number;
      else log.warn({ dir: this.dir }, 'outbox seq file has no reservedUpTo; continuing after the highest seq on disk');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err, dir: this.dir }, 'outbox seq file unreadable; continuing after the highest seq on disk');
    }
    this.nextSeq = Math.max(reserved, this.lastSeq, maxDone) + 1;
    this.reservedUpTo = this.nextSeq - 1;

    this.releaseSegments();
    this.compactDone();
    this.makeRoom(0, 0);
    if (this.index.live) log.info({ messages: this.index.live, bytes: this.index.bytes, segments: this.segments.size, nextSeq: this.nextSeq }, 'outbox recovered unconfirmed readings');
  }
}
