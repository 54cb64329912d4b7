// Latency histogram in whole milliseconds, sparse so workers can send it over IPC and the
// parent can merge them; plus the few statistics the benchmarks print.

export type Histogram = Map<number, number>;

export function record(h: Histogram, ms: number): void {
  const k = Math.max(0, Math.round(ms));
  h.set(k, (h.get(k) ?? 0) + 1);
}

export function merge(into: Histogram, from: Histogram | [number, number][]): Histogram {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
  return into;
}

export function count(h: Histogram): number {
  let n = 0;
  for (const v of h.values()) n += v;
  return n;
}

/** The q-quantile (0..1) in ms, or NaN for an empty histogram. */
export function quantile(h: Histogram, q: number): number {
  const total = count(h);
  if (total === 0) return NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const k of [...h.keys()].sort((a, b) => a - b)) {
    seen += h.get(k)!;
    if (seen >= rank) return k;
  }
  return NaN;
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
