// Payloads of simulated agents: the recorded readings (bench/payloads/*.json) encoded once
// without a header, and per message only the header encoded and put in front. Protobuf
// allows fields in any order and `Header header = 1` is a length-delimited field, so
// <0x0a><len><Header> + <rest of the message> is the same message the agent would send
// (the fleet test decodes such payloads with decodeMetric).
import { HeaderType, metricSpec, type Header } from '../common/schema.js';
import { FLEET_METRICS, loadProfiles, type FleetMetric, type PayloadProfile } from './record-payloads.js';

export const BENCH_AGENT_VERSION = '0.1.0-bench';

export interface EncodedProfile {
  profile: string;
  system: string;
  /** Body (everything but the header) per metric, and its point count (rows, or 1). */
  bodies: { metric: FleetMetric; body: Buffer; points: number }[];
}

export function encodeProfile(p: PayloadProfile, system: string): EncodedProfile {
  return {
    profile: p.profile,
    system,
    bodies: FLEET_METRICS.map((metric) => {
      const reading = p.readings[metric] as { rows?: unknown[] };
      const { type } = metricSpec(metric);
      const problem = type.verify(reading);
      if (problem) throw new Error(`bench payload ${p.profile}/${metric}: ${problem}`);
      return { metric, body: Buffer.from(type.encode(reading).finish()), points: reading.rows ? reading.rows.length : 1 };
    }),
  };
}

/** The recorded profiles, encoded: a Raspberry Pi (Raspbian) and this x86 machine (Debian). */
export function encodedProfiles(): EncodedProfile[] {
  return loadProfiles().map((p) => encodeProfile(p, p.profile === 'pi4' ? 'Raspbian' : 'Debian'));
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** The payload of one reading: header field first, then the recorded body. */
export function payload(body: Buffer, header: Header): Buffer {
  const h = HeaderType.encode(header).finish();
  return Buffer.concat([Buffer.from([0x0a]), varint(h.length), h, body]);
}

/** Reads just the header of a payload whose first field is the header (as ours and protobufjs's encodings are). */
export function readHeader(payload: Buffer): Header | undefined {
  if (payload[0] !== 0x0a) return undefined;
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; i < payload.length && i < 6; i++) {
    const b = payload[i]!;
    len |= (b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  i++;
  return HeaderType.toObject(HeaderType.decode(payload.subarray(i, i + len)), { longs: Number }) as Header;
}
