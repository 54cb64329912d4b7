// Summary of `ping -c N` (iputils and BusyBox):
//   iputils: "3 packets transmitted, 3 received, 0% packet loss, time 2030ms"
//            "rtt min/avg/max/mdev = 0.096/0.130/0.166/0.028 ms"
//   BusyBox: "3 packets transmitted, 3 packets received, 0% packet loss"
//            "round-trip min/avg/max = 0.096/0.130/0.166 ms"
// With no reply there is no rtt line (100% loss): the round-trip values stay unset.

export interface PingSummary {
  transmitted: number;
  received: number;
  lossPercent: number;
  minMs?: number;
  avgMs?: number;
  maxMs?: number;
  mdevMs?: number;
}

/** Undefined when the text holds no "packets transmitted" line. */
export function parsePingSummary(text: string): PingSummary | undefined {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received,(?: \+\d+ errors,)?(?: \+\d+ duplicates,)? ([\d.]+)% packet loss/.exec(text);
  if (!counts) return undefined;
  const out: PingSummary = { transmitted: Number(counts[1]), received: Number(counts[2]), lossPercent: Number(counts[3]) };
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/(?:mdev|stddev))? = ([\d.]+)\/([\d.]+)\/([\d.]+)(?:\/([\d.]+))? ms/.exec(text);
  if (rtt) {
    out.minMs = Number(rtt[1]);
    out.avgMs = Number(rtt[2]);
    out.maxMs = Number(rtt[3]);
    if (rtt[4] !== undefined) out.mdevMs = Number(rtt[4]);
  }
  return out;
}

/** Statistics of connect times the way ping reports them: mdev = sqrt(mean(x²) - mean(x)²). */
export function rttStats(samplesMs: readonly number[]): { minMs: number; avgMs: number; maxMs: number; mdevMs: number } | undefined {
  if (samplesMs.length === 0) return undefined;
  const n = samplesMs.length;
  const mean = samplesMs.reduce((a, b) => a + b, 0) / n;
  const meanSq = samplesMs.reduce((a, b) => a + b * b, 0) / n;
  return { minMs: Math.min(...samplesMs), avgMs: mean, maxMs: Math.max(...samplesMs), mdevMs: Math.sqrt(Math.max(0, meanSq - mean * mean)) };
}
