// Exponential backoff with jitter, for the agent's reconnects and the ingestor's write retries:
// a fleet that lost its broker (or an ingestor that lost InfluxDB) does not retry in step.

/** Delay before attempt `attempt` (1-based): min * 2^(attempt-1), +-20 % jitter, always within [min, max]. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.min(maxMs, Math.max(minMs, jittered)));
}
