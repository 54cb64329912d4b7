// InfluxDB names for the dashboards, typed from their sources: the metric groups of
// proto/machmon/v1/machmon.proto (options (measurement), (influx), (tag), (unit)) and the
// ingestor's own measurements (ingestor/measurements.ts). A panel names a source and a field
// as the code does (`field('cpu', 'userPercent')`) and gets the InfluxDB name; a misspelt
// source, field or tag does not compile, and throws should the types be bypassed.
import { METRICS, type MetricName } from '../common/schema.js';
import type { descriptor } from '../proto/gen/machmon.js';
import { INGESTOR_MEASUREMENTS, type IngestorField, type IngestorMeasurement } from '../ingestor/measurements.js';

type Messages = typeof descriptor.nested.machmon.nested.v1.nested;
type MessageOf<G extends MetricName> = Messages[Capitalize<G>];
/** The proto fields of a group, or of its Row for multi-row groups. */
type FieldsOf<G extends MetricName> = MessageOf<G> extends { nested: { Row: { fields: infer F } } } ? F : MessageOf<G> extends { fields: infer F } ? F : never;
type InfluxKeys<F> = { [K in keyof F]: F[K] extends { options: { '(influx)': string } } ? K : never }[keyof F] & string;
type TagNames<F> = { [K in keyof F]: F[K] extends { options: { '(tag)': infer T extends string } } ? T : never }[keyof F];
type RowIndexTag<G extends MetricName> = MessageOf<G> extends { options: { '(row_index_tag)': infer T extends string } } ? T : never;

/** A metric group (topic segment, as in "Metric groups" of the README) or a measurement of the ingestor's own. */
export type Source = MetricName | IngestorMeasurement;
/** Fields of a source that are stored as InfluxDB fields, by their name in the code (proto camelCase). */
export type FieldOf<S extends Source> = S extends MetricName ? InfluxKeys<FieldsOf<S>> : S extends IngestorMeasurement ? IngestorField<S> : never;
/** InfluxDB tags of a source: hostname and system on every metric point, the (tag) fields, the row index tag. */
export type TagOf<S extends Source> = S extends MetricName
  ? 'hostname' | 'system' | TagNames<FieldsOf<S>> | RowIndexTag<S>
  : S extends IngestorMeasurement
    ? (typeof INGESTOR_MEASUREMENTS)[S]['tags'][number]
    : never;

export interface InfluxField {
  readonly measurement: string;
  /** The InfluxDB field name. */
  readonly name: string;
  /** The schema unit ("kilobytes", "percent"...); the ingestor's own fields have none. */
  readonly unit?: string;
}

interface Names {
  readonly measurement: string;
  readonly fields: ReadonlyMap<string, InfluxField>;
  readonly tags: ReadonlySet<string>;
}

function catalog(): ReadonlyMap<string, Names> {
  const out = new Map<string, Names>();
  for (const spec of METRICS.values()) {
    const fields = new Map<string, InfluxField>();
    const tags = new Set(['hostname', 'system']);
    for (const f of spec.fields) {
      if (f.influx) fields.set(f.name, { measurement: spec.measurement, name: f.influx, unit: f.unit });
      if (f.tag) tags.add(f.tag);
    }
    if (spec.rowIndexTag) tags.add(spec.rowIndexTag);
    out.set(spec.name, { measurement: spec.measurement, fields, tags });
  }
  for (const [source, m] of Object.entries(INGESTOR_MEASUREMENTS)) {
    const fields = new Map(Object.keys(m.fields).map((f) => [f, { measurement: m.measurement, name: f }]));
    out.set(source, { measurement: m.measurement, fields, tags: new Set(m.tags) });
  }
  return out;
}

const CATALOG = catalog();

function names(source: string): Names {
  const n = CATALOG.get(source);
  if (!n) throw new Error(`dashboards: no metric group or ingestor measurement "${source}"`);
  return n;
}

export function measurement(source: Source): string {
  return names(source).measurement;
}

export function field<S extends Source>(source: S, name: FieldOf<S>): InfluxField {
  const f = names(source).fields.get(name);
  if (!f) throw new Error(`dashboards: ${source} has no field "${name}" stored in InfluxDB`);
  return f;
}

export function tag<S extends Source>(source: S, name: TagOf<S>): string {
  if (!names(source).tags.has(name)) throw new Error(`dashboards: ${source} has no tag "${name}"`);
  return name;
}
