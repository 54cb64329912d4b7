// The ingestor's case table (STYLE section 8): every directory under cases/ holds
//   input.json   { topic, receivedAtMs, retained?, and one of: message (the metric message
//                  as JSON; "NaN"/"Infinity"/"-Infinity" strings become those numbers),
//                  payloadText, payloadHex }
//   expected.lp  the line protocol the ingestor writes (empty: nothing to write), or
//   expected.err the PayloadError reason the message is rejected with.
// UPDATE_GOLDEN=1 rewrites the expected.lp files (review the diff before committing).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeMetric, isMetricName, type MetricName } from '../../../common/schema.js';
import { route } from '../../../ingestor/router.js';

const CASES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

interface Input { topic: string; receivedAtMs: number; retained?: boolean; message?: Record<string, unknown>; payloadText?: string; payloadHex?: string }

function payloadOf(input: Input): Uint8Array {
  if (input.payloadText !== undefined) return Buffer.from(input.payloadText, 'utf8');
  if (input.payloadHex !== undefined) return Buffer.from(input.payloadHex, 'hex');
  const metric = input.topic.split('/')[2]!;
  if (!isMetricName(metric)) throw new Error(`${input.topic}: message given for an unknown metric`);
  return encodeMetric(metric as MetricName, input.message as never);
}

const names = readdirSync(CASES).sort();

describe('ingestor cases', () => {
  it('has cases', () => expect(names.length).toBeGreaterThan(30));

  it.each(names)('%s', (name) => {
    const dir = path.join(CASES, name);
    const input = JSON.parse(readFileSync(path.join(dir, 'input.json'), 'utf8'), (_k, v: unknown) => (typeof v === 'string' && v in SPECIAL ? SPECIAL[v] : v)) as Input;
    const routed = route({ topic: input.topic, payload: payloadOf(input), receivedAtMs: input.receivedAtMs, retained: input.retained });
    const errFile = path.join(dir, 'expected.err');
    if (existsSync(errFile)) {
      expect(routed.kind, JSON.stringify(routed)).toBe('rejected');
      if (routed.kind === 'rejected') expect(routed.error.reason).toBe(readFileSync(errFile, 'utf8').trim());
      return;
    }
    expect(routed.kind === 'rejected' ? `rejected: ${routed.error.message}` : 'ok').toBe('ok');
    const lines = routed.kind === 'points' ? routed.lines : [];
    const actual = lines.map((l) => `${l}\n`).join('');
    const lpFile = path.join(dir, 'expected.lp');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(lpFile, actual);
    expect(actual).toBe(readFileSync(lpFile, 'utf8'));
  });
});
