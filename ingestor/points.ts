// Enrichment and conversion of a validated reading into line protocol, planned once per
// metric from the schema: tags `hostname` and `system` on every point, the row tags of
// the schema (the field's `(tag)` option, or the message's `row_index_tag` numbering the
// rows), fields typed by the schema, point time = the header's sample time (ms), so a
// re-sent reading overwrites itself instead of adding a row.
import { METRICS, type FieldKind, type Header, type MetricName, type MetricSpec } from '../common/schema.js';
import { escapeKey, escapeMeasurement, escapeTagValue, formatValue } from './line-protocol.js';

/** `key`: `,<escaped tag key>=`. */
interface TagPlan { key: string; from: 'hostname' | 'system' | 'rowIndex' | 'field'; field?: string }
/** `key`: `<escaped field key>=`. */
interface FieldPlan { key: string; field: string; kind: FieldKind; derived?: Derived }
interface Plan {
  measurement: string;
  multiRow: boolean;
  tags: TagPlan[];
  /** Tags taken from row fields (natural row keys), in schema order. */
  naturalTags: string[];
  fields: FieldPlan[];
}

const byKey = <T extends { sortKey: string }>(a: T, b: T) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0);

type Obj = Record<string, unknown>;

/** df's own rounding: used / (used + available), rounded up. */
export function derivedUsagePercent(row: Obj): number | undefined {
  const used = row.usedKb as number | undefined | null;
  const free = row.freeKb as number | undefined | null;
  if (used === undefined || used === null || free === undefined || free === null || used + free <= 0) return undefined;
  return Math.ceil((used * 100) / (used + free));
}

/**
 * What the ingestor knows better than the agent: Latency.clientServer (receipt time minus
 * sample time, ms; replaces whatever the agent sent) and, where the agent left it unset,
 * Disk/Partitions usagePercentDisk from used and free.
 */
interface Derived { field: string; always: boolean; value(row: Obj, receivedAtMs: number, sampleTimeMs: number): number | undefined }
const DERIVED: Partial<Record<MetricName, Derived>> = {
  latency: { field: 'clientServerMs', always: true, value: (_row, receivedAtMs, sampleTimeMs) => Math.round(receivedAtMs - sampleTimeMs) },
  disk: { field: 'usagePercent', always: false, value: derivedUsagePercent },
  partitions: { field: 'usagePercent', always: false, value: derivedUsagePercent },
};

function plan(spec: MetricSpec): Plan {
  const tags: (TagPlan & { sortKey: string })[] = [
    { sortKey: 'hostname', key: `,${escapeKey('hostname')}=`, from: 'hostname' },
    { sortKey: 'system', key: `,${escapeKey('system')}=`, from: 'system' },
  ];
  if (spec.rowIndexTag) tags.push({ sortKey: spec.rowIndexTag, key: `,${escapeKey(spec.rowIndexTag)}=`, from: 'rowIndex' });
  for (const f of spec.fields) if (f.tag) tags.push({ sortKey: f.tag, key: `,${escapeKey(f.tag)}=`, from: 'field', field: f.name });
  const derived = DERIVED[spec.name];
  const fields = spec.fields
    .filter((f) => f.influx)
    .map((f) => ({ sortKey: f.influx!, key: `${escapeKey(f.influx!)}=`, field: f.name, kind: f.kind, derived: derived?.field === f.name ? derived : undefined }))
    .sort(byKey);
  return {
    measurement: escapeMeasurement(spec.measurement),
    multiRow: spec.multiRow,
    tags: tags.sort(byKey),
    naturalTags: spec.multiRow && !spec.rowIndexTag ? spec.fields.filter((f) => f.tag).map((f) => f.name) : [],
    fields,
  };
}

const PLANS = new Map<MetricName, Plan>([...METRICS.values()].map((s) => [s.name, plan(s)]));

/** The fields of one row as line protocol (`k=v,k=v`), or "" when it has none. */
function fieldsOf(p: Plan, row: Obj, receivedAtMs: number, sampleTimeMs: number): string {
  let out = '';
  for (const f of p.fields) {
    let v = row[f.field] as number | string | undefined | null;
    if (f.derived && (f.derived.always || v === undefined || v === null)) v = f.derived.value(row, receivedAtMs, sampleTimeMs);
    if (v === undefined || v === null) continue;
    out += (out ? ',' : '') + f.key + formatValue(f.kind, v);
  }
  return out;
}

/**
 * The points of one validated reading (a plain object or protobufjs's decoded message:
 * `null` and `undefined` both mean "not sent"), enriched (DERIVED). Tags `hostname` and
 * `system` on every point, time = the header's sample time (ms). Multi-row groups give one
 * point per row (rows without any value are left out: InfluxDB refuses points without
 * fields). Rows whose natural key (interface, mount, device, sensor) is missing or repeats
 * an earlier row of the same reading get `#<row index>` appended to that key, so N rows
 * sent are N rows stored and none overwrites another. Tags and fields in key order, tags
 * with an empty value left out (line-protocol.ts formatLine writes the same lines).
 */
export function toLines(metric: MetricName, message: Obj, header: Header & { sampleTimeMs: number }, receivedAtMs: number): string[] {
  const p = PLANS.get(metric)!;
  const time = header.sampleTimeMs;
  const hostname = header.hostname ? escapeTagValue(header.hostname) : '';
  const system = header.system ? escapeTagValue(header.system) : '';
  const rows: readonly Obj[] = p.multiRow ? ((message.rows ?? []) as Obj[]) : [message];
  const natural = p.naturalTags.length ? new Map<string, string>() : undefined;
  const seen = natural && new Set<string>();
  const lines: string[] = [];
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    if (natural) {
      let key = '';
      let any = false;
      for (const name of p.naturalTags) {
        const v = (row[name] as string | undefined | null) ?? '';
        natural.set(name, v);
        key += `${v}\u0000`;
        if (v) any = true;
      }
      const first = p.naturalTags[0]!;
      if (seen!.has(key) || !any) natural.set(first, `${natural.get(first)!}#${index}`);
      seen!.add(key);
    }
    const fields = fieldsOf(p, row, receivedAtMs, time);
    if (!fields) continue;
    let line = p.measurement;
    for (const t of p.tags) {
      switch (t.from) {
        case 'hostname':
          if (hostname) line += t.key + hostname;
          break;
        case 'system':
          if (system) line += t.key + system;
          break;
        case 'rowIndex':
          line += t.key + String(index);
          break;
        case 'field': {
          const v = natural ? natural.get(t.field!)! : ((row[t.field!] as string | undefined | null) ?? '');
          if (v) line += t.key + escapeTagValue(v);
          break;
        }
      }
    }
    lines.push(`${line} ${fields} ${time}`);
  }
  return lines;
}
