// Runtime view of proto/machmon/v1/machmon.proto: encode/decode of every metric group
// and the mapping of its fields to InfluxDB names, read from the schema's own options.
import protobuf from 'protobufjs';
import { descriptor, METRIC_NAMES, type Header, type MetricMessages } from '../proto/gen/machmon.js';

// 64-bit fields as plain numbers: exact up to 2^53, which covers epoch milliseconds,
// sequence numbers and kilobyte counts; no Long objects on the hot path.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export type { Header, MetricMessages };
export type MetricName = (typeof METRIC_NAMES)[number];
export { METRIC_NAMES };
export type FieldKind = 'int' | 'float' | 'string';

export interface FieldSpec {
  /** Name in the decoded message (camelCase of the proto name). */
  readonly name: string;
  /** InfluxDB field name, when the value is stored as a field. */
  readonly influx?: string;
  /** InfluxDB tag name, when the value is (also) stored as a tag. */
  readonly tag?: string;
  readonly unit: string;
  readonly kind: FieldKind;
}

export interface MetricSpec {
  readonly name: MetricName;
  readonly measurement: string;
  readonly type: protobuf.Type;
  /** Multi-row groups: one InfluxDB point per row. */
  readonly multiRow: boolean;
  /** Tag numbering the rows, for groups whose rows have no natural key. */
  readonly rowIndexTag?: string;
  /** Fields of the message, or of its row type for multi-row groups. */
  readonly fields: readonly FieldSpec[];
}

const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

export const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace);
root.resolveAll();
export const HeaderType = root.lookupType('machmon.v1.Header');

function fieldKind(f: protobuf.Field): FieldKind {
  if (f.type === 'string') return 'string';
  if (f.type === 'double' || f.type === 'float') return 'float';
  if (INT_TYPES.has(f.type)) return 'int';
  throw new Error(`schema: field ${f.fullName} has type ${f.type}, which has no InfluxDB mapping`);
}

function fieldSpecs(type: protobuf.Type): FieldSpec[] {
  return type.fieldsArray
    .filter((f) => f.name !== 'header' && f.name !== 'rows')
    .map((f) => {
      const o = (f.options ?? {}) as Record<string, string | undefined>;
      const unit = o['(unit)'];
      if (!unit) throw new Error(`schema: field ${f.fullName} has no (unit) option`);
      if (!o['(influx)'] && !o['(tag)']) throw new Error(`schema: field ${f.fullName} has neither (influx) nor (tag)`);
      return { name: f.name, influx: o['(influx)'], tag: o['(tag)'], unit, kind: fieldKind(f) };
    });
}

function buildSpec(name: MetricName): MetricSpec {
  const type = root.lookupType(`machmon.v1.${name[0]!.toUpperCase()}${name.slice(1)}`);
  const options = (type.options ?? {}) as Record<string, string | undefined>;
  const measurement = options['(measurement)'];
  if (!measurement) throw new Error(`schema: ${type.fullName} has no (measurement) option`);
  const rows = type.fields['rows'];
  const rowType = rows ? root.lookupType(`${type.fullName}.Row`) : undefined;
  return {
    name,
    measurement,
    type,
    multiRow: !!rowType,
    rowIndexTag: options['(row_index_tag)'],
    fields: fieldSpecs(rowType ?? type),
  };
}

export const METRICS: ReadonlyMap<MetricName, MetricSpec> = new Map(METRIC_NAMES.map((n) => [n, buildSpec(n)]));

const metricSet: ReadonlySet<string> = new Set(METRIC_NAMES);
export function isMetricName(name: string): name is MetricName {
  return metricSet.has(name);
}

export function metricSpec(name: MetricName): MetricSpec {
  return METRICS.get(name)!;
}

/** Encodes one reading; throws when the object does not fit the schema. */
export function encodeMetric<M extends MetricName>(name: M, message: MetricMessages[M]): Uint8Array {
  const { type } = metricSpec(name);
  const problem = type.verify(message);
  if (problem) throw new Error(`${name}: ${problem}`);
  return type.encode(message).finish();
}

/**
 * Encodes a reading the compiler has already checked against the generated types (the agent's
 * collectors build Reading<M> objects): no runtime verify, which was a third of the agent's
 * encoding CPU per reading. Anything built from outside input goes through encodeMetric.
 */
export function encodeTypedMetric<M extends MetricName>(name: M, message: MetricMessages[M]): Uint8Array {
  return metricSpec(name).type.encode(message).finish();
}

/**
 * Decodes one payload into protobufjs's message object, without the plain-object copy of
 * decodeMetric (the ingestor's hot path, README "Scaling"): a field read from the payload
 * is an own property; one that was not there reads as its prototype default, which is
 * null for every `optional` field (so `value == null` means "not sent", as in
 * decodeMetric's result), "" or 0 for the rest, an empty frozen array for `rows` and null
 * for `header`. 64-bit integers are numbers. Throws on bytes that are not a valid message.
 */
export function decodeMetricMessage(name: MetricName, payload: Uint8Array): Record<string, unknown> {
  return metricSpec(name).type.decode(payload) as unknown as Record<string, unknown>;
}

/**
 * Decodes one payload into a plain object: unset optional fields are absent (not 0),
 * 64-bit integers are numbers. Throws on bytes that are not a valid message.
 */
export function decodeMetric<M extends MetricName>(name: M, payload: Uint8Array): MetricMessages[M] {
  const { type } = metricSpec(name);
  const message = type.decode(payload);
  return type.toObject(message, { longs: Number, defaults: false, arrays: false }) as MetricMessages[M];
}
