// `machmon decode`: reads `mosquitto_sub -F '%t %x'` output (topic, space, hex payload per
// line) and prints one JSON object per message. Bad lines are reported on stderr and skipped.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { decodeMetric } from '../common/schema.js';
import { decodeBrokerStats } from '../common/broker-stats.js';
import { parseTopic } from '../common/topics.js';

export function decodeLine(line: string): object {
  const space = line.indexOf(' ');
  const topic = space < 0 ? line : line.slice(0, space);
  const hex = space < 0 ? '' : line.slice(space + 1).trim();
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`payload is not hex (use mosquitto_sub -F '%t %x')`);
  const payload = Buffer.from(hex, 'hex');
  const parsed = parseTopic(topic);
  if (parsed.kind === 'brokerStats') return { topic, kind: parsed.kind, stats: decodeBrokerStats(payload) };
  if (parsed.kind !== 'metric') return { topic, host: parsed.host, kind: parsed.kind, text: payload.toString('utf8') };
  try {
    return { topic, host: parsed.host, metric: parsed.metric, message: decodeMetric(parsed.metric, payload) };
  } catch (err) {
    throw new Error(`payload of ${topic} is not a valid ${parsed.metric} message: ${(err as Error).message}`, { cause: err });
  }
}

export async function runDecode(input: Readable, output: Writable, errors: Writable): Promise<number> {
  let failures = 0;
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    if (!line.trim()) continue;
    try {
      output.write(`${JSON.stringify(decodeLine(line.trim()))}\n`);
    } catch (err) {
      failures++;
      errors.write(`machmon decode: line ${n}: ${(err as Error).message}\n`);
    }
  }
  return failures ? 1 : 0;
}
