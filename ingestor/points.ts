// Enrichment and conversion of a validated reading into line protocol, planned once per
// metric from the schema: tags `hostname` and `system` on every point, the row tags of
// the schema (the field's `(tag)` option, or the message's `row_index_tag` numbering the
// rows), fields typed by the schema, point time = the header's sample time (ms), so a
// re-sent reading overwrites itself instead of adding a row.
import { METRICS, type FieldKind, type Header, type MetricName, type MetricSpec } from '../common/schema.js';
import { escapeKey, escapeMeasurement, formatLine, formatValue, type FieldPair, type TagPair } from './line-protocol.js';

interface TagPlan { key: string; from: 'hostname' | 'system' | 'rowIndex' | 'field'; field?: string }
interface FieldPlan { key: string; field: string; kind: FieldKind }
interface Plan {
  measurement: string;
  tags: TagPlan[];
  /** Tags taken from row fields (natural row keys), in schema order. */
  naturalTags: string[];
  fields: FieldPlan[];
}

const byKey = <T extends { sortKey: string }>(a: T, b: T) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0);

function plan(spec: MetricSpec): Plan {
  const tags: (TagPlan & { sortKey: string })[] = [
    { sortKey: 'hostname', key: escapeKey('hostname'), from: 'hostname' },
    { sortKey: 'system', key: escapeKey('system'), from: 'system' },
  ];
  if (spec.rowIndexTag) tags.push({ sortKey: spec.rowIndexTag, key: escapeKey(spec.rowIndexTag), from: 'rowIndex' });
  for (const f of spec.fields) if (f.tag) tags.push({ sortKey: f.tag, key: escapeKey(f.tag), from: 'field', field: f.name });
  const fields = spec.fields
    .filter((f) => f.influx)
    .map((f) => ({ sortKey: f.influx!, key: escapeKey(f.influx!), field: f.name, kind: f.kind }))
    .sort(byKey);
  return {
    measurement: escapeMeasurement(spec.measurement),
    tags: tags.sort(byKey),
    naturalTags: spec.multiRow && !spec.rowIndexTag ? spec.fields.filter((f) => f.tag).map((f) => f.name) : [],
    fields,
  };
}

const PLANS = new Map<MetricName, Plan>([...METRICS.values()].map((s) => [s.name, plan(s)]));

type Obj = Record<string, unknown>;

/** df's own rounding: used / (used + available), rounded up. */
function derivedUsagePercent(row: Obj): number | undefined {
  const used = row.usedKb as number | undefined;
  const free = row.freeKb as number | undefined;
  if (used === undefined || used === null || free === undefined || free === null || used + free <= 0) return undefined;
  return Math.ceil((used * 100) / (used + free));
}

/**
 * Fills what the ingestor knows better than the agent: Latency.clientServer (receipt time
 * minus sample time, ms) and, where the agent left it unset, Disk/Partitions
 * usagePercentDisk from used and free. Returns a new object; the input is not changed.
 */
export function enrich(metric: MetricName, message: Obj, header: Header & { sampleTimeMs: number }, receivedAtMs: number): Obj {
  switch (metric) {
    case 'latency':
      return { ...message, clientServerMs: Math.round(receivedAtMs - header.sampleTimeMs) };
    case 'disk':
      return message.usagePercent === undefined ? withUsage(message) : message;
    case 'partitions':
      return { ...message, rows: ((message.rows ?? []) as Obj[]).map((r) => (r.usagePercent === undefined ? withUsage(r) : r)) };
    default:
      return message;
  }
}

function withUsage(row: Obj): Obj {
  const usagePercent = derivedUsagePercent(row);
  return usagePercent === undefined ? row : { ...row, usagePercent };
}

function fieldsOf(p: Plan, obj: Obj): FieldPair[] {
  const out: FieldPair[] = [];
  for (const f of p.fields) {
    const v = obj[f.field];
    if (v !== undefined && v !== null) out.push([f.key, formatValue(f.kind, v as number | string)]);
  }
  return out;
}

/**
 * The points of one validated, enriched reading. Multi-row groups give one point per row
 * (rows without any value are left out: InfluxDB refuses points without fields). Rows
 * whose natural key (interface, mount, device, sensor) is missing or repeats an earlier
 * row of the same reading get `#<row index>` appended to that key, so N rows sent are N
 * rows stored and none overwrites another.
 */
export function toLines(metric: MetricName, message: Obj, header: Header & { sampleTimeMs: number }): string[] {
  const p = PLANS.get(metric)!;
  const time = header.sampleTimeMs;
  const hostname = header.hostname ?? '';
  const system = header.system ?? '';
  const rows: Obj[] = METRICS.get(metric)!.multiRow ? ((message.rows ?? []) as Obj[]) : [message];
  const seen = new Set<string>();
  const lines: string[] = [];
  rows.forEach((row, index) => {
    const natural: Record<string, string> = {};
    if (p.naturalTags.length) {
      for (const name of p.naturalTags) natural[name] = (row[name] as string | undefined) ?? '';
      const key = p.naturalTags.map((n) => natural[n]).join('\u0000');
      const first = p.naturalTags[0]!;
      if (seen.has(key) || p.naturalTags.every((n) => !natural[n])) natural[first] = `${natural[first]}#${index}`;
      seen.add(key);
    }
    const tags: TagPair[] = p.tags.map((t) => {
      switch (t.from) {
        case 'hostname':
          return [t.key, hostname];
        case 'system':
          return [t.key, system];
        case 'rowIndex':
          return [t.key, String(index)];
        case 'field':
          return [t.key, p.naturalTags.length ? natural[t.field!]! : ((row[t.field!] as string | undefined) ?? '')];
      }
    });
    const line = formatLine(p.measurement, tags, fieldsOf(p, row), time);
    if (line) lines.push(line);
  });
  return lines;
}
