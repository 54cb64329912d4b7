// Validation of one decoded reading against its topic and the schema's units. Pure: throws
// PayloadError whose `reason` labels the rejection counter; the router logs and counts.
import { PayloadError } from '../common/errors.js';
import type { FieldSpec, Header, MetricSpec } from '../common/schema.js';
import { TimeStatus } from '../proto/gen/machmon.js';

/** 2001-01-01T00:00:00Z: no Pi took a sample before that; a clock stuck at 1970 did. */
export const EARLIEST_SAMPLE_MS = Date.UTC(2001, 0, 1);
/** Sample times further ahead than this (clock skew) are refused. */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;

interface Range { min: number; max: number; integral?: boolean }

const NON_NEGATIVE: Range = { min: 0, max: Number.MAX_VALUE };
/**
 * Allowed values per unit (the `(unit)` option of the proto). A unit missing here is a
 * schema change the ingestor has not caught up with: test/ingestor checks every unit used.
 * Percentages get a hair of slack for rounding (100.0000001 from a division is still 100).
 */
export const UNIT_RANGES: Readonly<Record<string, Range | 'text'>> = {
  percent: { min: -1e-6, max: 100 + 1e-6 },
  // 100 per core; 1024 cores is a generous bound for one process on one machine.
  percent_of_cpu: { min: -1e-6, max: 100 * 1024 },
  kilobytes: NON_NEGATIVE,
  bytes: NON_NEGATIVE,
  kilobytes_per_second: NON_NEGATIVE,
  per_second: NON_NEGATIVE,
  milliseconds: NON_NEGATIVE,
  signed_milliseconds: { min: -Number.MAX_VALUE, max: Number.MAX_VALUE },
  count: NON_NEGATIVE,
  load: NON_NEGATIVE,
  kilohertz: NON_NEGATIVE,
  megabits_per_second: NON_NEGATIVE,
  rpm: { min: 0, max: 100_000 },
  // Received power: -256 is brcmfmac's "no figure" and is left unset by the agent; +30 dBm is
  // a 1 W transmitter next door.
  dbm: { min: -200, max: 30 },
  bitfield: NON_NEGATIVE,
  celsius: { min: -100, max: 200 },
  nice: { min: -20, max: 19 },
  flag: { min: 0, max: 1 },
  text: 'text',
};

function checkField(metric: string, where: string, f: FieldSpec, value: unknown): void {
  const range = UNIT_RANGES[f.unit];
  if (!range) throw new PayloadError('unknown_unit', `${metric}${where}: field ${f.name} has unit "${f.unit}", which the ingestor does not know`);
  if (f.kind === 'string') {
    if (typeof value !== 'string') throw new PayloadError('bad_type', `${metric}${where}: ${f.name} is not a string`);
    return;
  }
  if (typeof value !== 'number') throw new PayloadError('bad_type', `${metric}${where}: ${f.name} is not a number`);
  if (!Number.isFinite(value)) throw new PayloadError('not_finite', `${metric}${where}: ${f.name} is ${value}`);
  if (f.kind === 'int' && !Number.isSafeInteger(value)) throw new PayloadError('out_of_range', `${metric}${where}: ${f.name} = ${value} is beyond 2^53`);
  if (range !== 'text' && (value < range.min || value > range.max)) {
    throw new PayloadError('out_of_range', `${metric}${where}: ${f.name} = ${value} is outside ${f.unit} range ${range.min}..${range.max}`);
  }
}

function checkValues(spec: MetricSpec, obj: Record<string, unknown>, where: string): void {
  for (const f of spec.fields) {
    const v = obj[f.name];
    if (v !== undefined && v !== null) checkField(spec.name, where, f, v);
  }
}

/**
 * Checks header and values of a decoded reading; returns the header. `topicHost` is the
 * <host> of the topic, `nowMs` the receipt time.
 */
/** The largest magnitude a Date holds (ECMAScript: ±100,000,000 days); beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

export function validateReading(spec: MetricSpec, message: Record<string, unknown>, topicHost: string, nowMs: number): Header & { sampleTimeMs: number } {
  const header = message.header as Header | null | undefined;
  if (!header) throw new PayloadError('missing_header', `${spec.name} from ${topicHost}: no header`);
  if ((header.hostname ?? '') !== topicHost) {
    throw new PayloadError('hostname_mismatch', `${spec.name}: header hostname "${header.hostname ?? ''}" is not the topic's "${topicHost}"`);
  }
  // A reading whose time the agent could not know (README "Clock without RTC") is refused,
  // never stored at the unsynchronised clock's time.
  const status = header.timeStatus ?? TimeStatus.TIME_STATUS_UNSPECIFIED;
  if (status === TimeStatus.TIME_STATUS_UNKNOWN || status === TimeStatus.TIME_STATUS_UNSYNCHRONIZED) {
    throw new PayloadError('time_unknown', `${spec.name} from ${topicHost}: taken before the clock was synchronised, in a boot (${header.bootId || 'unknown'}) whose time offset the agent never learned`);
  }
  const t = header.sampleTimeMs;
  if (t === undefined || t === null || t === 0) throw new PayloadError('missing_sample_time', `${spec.name} from ${topicHost}: no sample time`);
  if (!Number.isSafeInteger(t) || t < EARLIEST_SAMPLE_MS || t > nowMs + MAX_FUTURE_MS) {
    throw new PayloadError('sample_time_absurd', `${spec.name} from ${topicHost}: sample time ${t} (${Number.isSafeInteger(t) && Math.abs(t) <= MAX_DATE_MS ? new Date(t).toISOString() : 'not a date'}) is before 2001 or more than a day ahead`);
  }
  if (spec.multiRow) {
    const rows = (message.rows ?? []) as Record<string, unknown>[];
    rows.forEach((row, i) => checkValues(spec, row, ` row ${i}`));
  } else {
    checkValues(spec, message, '');
  }
  return header as Header & { sampleTimeMs: number };
}
