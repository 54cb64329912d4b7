// The outbox's record format (see outbox.ts for the files that hold the records): every record
// is [u32 bodyLength][u32 crc32(body)][body], little endian, so a record torn by kill -9 or a
// power cut, or garbage at the end of a file, is found on open.
//   data body: [u8 version=2][f64 seq][f64 sampleTimeMs][u8 flags][u8 metricLength][metric][payload]
//              (version 1, written before flags existed: no flags byte; read as flags 0)
//   done body: [u8 version=1] then pairs [f64 from][f64 to] (inclusive ranges)
import fs from 'node:fs';
import path from 'node:path';
import type { SeqRange } from '../../common/ranges.js';
import { crc32 } from './crc32.js';

/** Bytes before a record's body: length and CRC. */
export const HEADER = 8;
const VERSION = 1;
const DATA_VERSION = 2;
const DATA_FIXED_V1 = 1 + 8 + 8 + 1;
const DATA_FIXED = 1 + 8 + 8 + 1 + 1;
/** Record flag: the sample time is not known yet (clock unsynchronised at sampling; runtime/clock.ts). */
export const FLAG_TIME_UNSYNCHRONIZED = 1;

export function writeAll(fd: number, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
}

function frame(body: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(HEADER + body.length);
  rec.writeUInt32LE(body.length, 0);
  rec.writeUInt32LE(crc32(body), 4);
  body.copy(rec, HEADER);
  return rec;
}

/**
 * Hands the bodies of a file's valid records to `accept`, in order, and returns where the
 * good part ends: at the first damaged record (length, CRC) or the first one `accept` refuses.
 */
/** The body of a record read whole into buf[0, n), or undefined when its length or CRC is wrong. */
export function unframe(buf: Buffer, n: number): Buffer | undefined {
  const body = buf.subarray(HEADER, n);
  return n === buf.length && buf.readUInt32LE(0) === body.length && crc32(body) === buf.readUInt32LE(4) ? body : undefined;
}

export function scanRecords(buf: Buffer, accept: (body: Buffer, offset: number) => boolean): number {
  let pos = 0;
  while (pos + HEADER <= buf.length) {
    const len = buf.readUInt32LE(pos);
    const end = pos + HEADER + len;
    if (len === 0 || end > buf.length) break;
    if (crc32(buf, pos + HEADER, end) !== buf.readUInt32LE(pos + 4)) break;
    if (!accept(buf.subarray(pos + HEADER, end), pos)) break;
    pos = end;
  }
  return pos;
}

export interface DataRecord { seq: number; time: number; flags: number; metric: string; payload: Buffer }

/** A framed data record; throws RangeError for a metric name longer than 255 bytes. */
export function encodeData(seq: number, sampleTimeMs: number, metric: string, payload: Uint8Array, flags = 0): Buffer {
  const mlen = Buffer.byteLength(metric, 'latin1');
  if (mlen > 255) throw new RangeError(`outbox: metric name "${metric.slice(0, 40)}..." is too long`);
  const body = Buffer.allocUnsafe(DATA_FIXED + mlen + payload.length);
  body[0] = DATA_VERSION;
  body.writeDoubleLE(seq, 1);
  body.writeDoubleLE(sampleTimeMs, 9);
  body[17] = flags;
  body[18] = mlen;
  body.write(metric, DATA_FIXED, 'latin1');
  body.set(payload, DATA_FIXED + mlen);
  return frame(body);
}

export function decodeData(body: Buffer): DataRecord | undefined {
  const version = body[0];
  const fixed = version === DATA_VERSION ? DATA_FIXED : version === VERSION ? DATA_FIXED_V1 : 0;
  if (!fixed || body.length < fixed) return undefined;
  const seq = body.readDoubleLE(1);
  const time = body.readDoubleLE(9);
  const flags = version === DATA_VERSION ? body[17]! : 0;
  const mlen = body[fixed - 1]!;
  if (!Number.isSafeInteger(seq) || seq < 0 || fixed + mlen > body.length) return undefined;
  return { seq, time, flags, metric: body.toString('latin1', fixed, fixed + mlen), payload: body.subarray(fixed + mlen) };
}

export function decodeDone(body: Buffer): SeqRange[] | undefined {
  if (body[0] !== VERSION || (body.length - 1) % 16 !== 0) return undefined;
  const out: SeqRange[] = [];
  for (let p = 1; p < body.length; p += 16) out.push([body.readDoubleLE(p), body.readDoubleLE(p + 8)]);
  return out;
}

export function encodeDone(ranges: readonly SeqRange[]): Buffer {
  const body = Buffer.allocUnsafe(1 + 16 * ranges.length);
  body[0] = VERSION;
  ranges.forEach(([a, b], k) => {
    body.writeDoubleLE(a, 1 + 16 * k);
    body.writeDoubleLE(b, 9 + 16 * k);
  });
  return frame(body);
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported everywhere; the rename itself is what matters
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes a file so that after a crash it is either the old or the new content. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

