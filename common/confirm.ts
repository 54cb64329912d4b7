// End-to-end confirmation (README "Data flow"): after a write to InfluxDB succeeded, the
// ingestor tells each agent which of its readings are done, on confirmTopic(<host>)
// (machmon/<host>/confirm/stored), QoS 1, not retained.
//
// Payload: compact UTF-8 JSON, one key:
//
//   {"ranges":[[from,to],...]}
//
// Each [from, to] is an inclusive range of header.seq values of that host that are done:
// stored, or rejected for good (undecodable, out of range, refused by InfluxDB with 400),
// since sending those again is pointless. Ranges need not be sorted or contiguous: a
// batch may hold seqs 1-5 and 8 of a host while 6 and 7 are still in flight. Seqs not
// named are simply not confirmed yet; the agent re-sends them after its timeout.
// A payload holds at most MAX_CONFIRM_RANGES ranges (confirmPayloads() splits longer
// lists), so it stays far below the broker's payload limit.
//
// Example: seqs 1,2,3,5,9,10 -> {"ranges":[[1,3],[5,5],[9,10]]}
import { PayloadError } from './errors.js';
import { seqsToRanges, type SeqRange } from './ranges.js';

/** At most this many ranges per payload (~40 bytes each: well below 256 KiB). */
export const MAX_CONFIRM_RANGES = 4096;

/** One payload for the given ranges (at most MAX_CONFIRM_RANGES; use confirmPayloads for more). */
export function encodeConfirm(ranges: readonly SeqRange[]): Buffer {
  if (ranges.length > MAX_CONFIRM_RANGES) throw new RangeError(`confirm: ${ranges.length} ranges, at most ${MAX_CONFIRM_RANGES} per payload`);
  for (const r of ranges) checkRange(r, 'encodeConfirm');
  return Buffer.from(JSON.stringify({ ranges: ranges.map(([a, b]) => [a, b]) }), 'utf8');
}

/** The payloads confirming the given seqs: merged into ranges, split every MAX_CONFIRM_RANGES. */
export function confirmPayloads(seqs: Iterable<number>): Buffer[] {
  const ranges = seqsToRanges(seqs);
  const out: Buffer[] = [];
  for (let i = 0; i < ranges.length; i += MAX_CONFIRM_RANGES) out.push(encodeConfirm(ranges.slice(i, i + MAX_CONFIRM_RANGES)));
  return out;
}

/** Parses a confirmation payload; throws PayloadError (reason "confirm") when it is not one. */
export function decodeConfirm(payload: Uint8Array | string): SeqRange[] {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PayloadError('confirm', `confirm payload is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Array.isArray((parsed as { ranges?: unknown }).ranges)) {
    throw new PayloadError('confirm', 'confirm payload must be {"ranges":[[from,to],...]}');
  }
  const ranges = (parsed as { ranges: unknown[] }).ranges;
  if (ranges.length > MAX_CONFIRM_RANGES) throw new PayloadError('confirm', `confirm payload has ${ranges.length} ranges, at most ${MAX_CONFIRM_RANGES}`);
  return ranges.map((r, i) => {
    if (!Array.isArray(r) || r.length !== 2) throw new PayloadError('confirm', `confirm payload: ranges[${i}] is not [from, to]`);
    try {
      return checkRange(r as unknown as SeqRange, `ranges[${i}]`);
    } catch (err) {
      throw new PayloadError('confirm', `confirm payload: ${(err as Error).message}`);
    }
  });
}

function checkRange(r: SeqRange, where: string): SeqRange {
  const [a, b] = r;
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b < a) {
    throw new RangeError(`${where}: [${String(a)}, ${String(b)}] is not a range of non-negative integers with from <= to`);
  }
  return [a, b];
}
