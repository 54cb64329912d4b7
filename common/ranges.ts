// Inclusive ranges of sequence numbers: how confirmations name readings (common/confirm.ts)
// and how the agent's outbox records which are done (agent/outbox).

/** Inclusive range of sequence numbers [from, to], from <= to. */
export type SeqRange = readonly [from: number, to: number];

/** Merges sequence numbers into inclusive ranges; sorts and drops repeats unless told they are sorted and distinct. */
export function seqsToRanges(seqs: Iterable<number>, sortedDistinct = false): SeqRange[] {
  const sorted = sortedDistinct ? (seqs as readonly number[]) : [...new Set(seqs)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}
