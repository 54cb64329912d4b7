// What exists in InfluxDB after the ingestor wrote it: measurements, their fields (with
// type and schema unit) and tags. Metric groups come from the proto (METRICS); the
// ingestor's own measurements (Status, MachmonIngestor, MachmonBroker) from the lines its code produces.
import type { FieldKind } from '../../../common/schema.js';
import { METRICS } from '../../../common/schema.js';
import { BROKER_STATS_FIELDS, encodeBrokerStats } from '../../../common/broker-stats.js';
import { handleBrokerStats } from '../../../ingestor/handlers/broker-stats.js';
import { handleStatus } from '../../../ingestor/handlers/status.js';
import { IngestorStats } from '../../../ingestor/stats.js';

export interface MeasurementInfo {
  readonly fields: ReadonlyMap<string, { kind: FieldKind; unit?: string }>;
  readonly tags: ReadonlySet<string>;
  /** Metric group name (topic segment) for proto measurements. */
  readonly metric?: string;
}

/** Splits one line of line protocol without escapes (what the ingestor's self lines are). */
function parseSimpleLine(line: string): { measurement: string; tags: string[]; fields: [string, FieldKind][] } {
  const m = /^([^, ]+)((?:,[^, ]+)*) (.+) \d+$/.exec(line);
  if (!m) throw new Error(`cannot parse line protocol: ${line}`);
  const tags = m[2]!.split(',').filter(Boolean).map((t) => t.split('=')[0]!);
  const fields = m[3]!.split(/,(?=[^,"]+=)/).map((f): [string, FieldKind] => {
    const [k, v] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
    return [k, v.startsWith('"') ? 'string' : v.endsWith('i') ? 'int' : 'float'];
  });
  return { measurement: m[1]!, tags, fields };
}

function fromLines(lines: string[]): [string, MeasurementInfo] {
  const fields = new Map<string, { kind: FieldKind }>();
  const tags = new Set<string>();
  let name = '';
  for (const line of lines) {
    const p = parseSimpleLine(line);
    name = p.measurement;
    p.tags.forEach((t) => tags.add(t));
    for (const [k, kind] of p.fields) fields.set(k, { kind });
  }
  return [name, { fields, tags }];
}

function buildCatalog(): ReadonlyMap<string, MeasurementInfo> {
  const out = new Map<string, MeasurementInfo>();
  for (const spec of METRICS.values()) {
    const fields = new Map<string, { kind: FieldKind; unit?: string }>();
    const tags = new Set(['hostname', 'system']);
    for (const f of spec.fields) {
      if (f.influx) fields.set(f.influx, { kind: f.kind, unit: f.unit });
      if (f.tag) tags.add(f.tag);
    }
    if (spec.rowIndexTag) tags.add(spec.rowIndexTag);
    out.set(spec.measurement, { fields, tags, metric: spec.name });
  }
  const status = handleStatus('h', Buffer.from('online'), 0, false);
  if (status.kind !== 'points') throw new Error('handleStatus did not produce points');
  out.set(...fromLines(status.lines));
  const stats = new IngestorStats();
  stats.reject('example');
  out.set(...fromLines(stats.toLines('h', 0)));
  // The broker's figures with every field it knows, and one refusal reason.
  const figures = Object.fromEntries(BROKER_STATS_FIELDS.map((f) => [f, 1]));
  const broker = handleBrokerStats(encodeBrokerStats({ hostname: 'h', timeMs: 1, figures, refused: { bad_password: 1 } }));
  if (broker.kind !== 'points') throw new Error('handleBrokerStats did not produce points');
  out.set(...fromLines(broker.lines));
  return out;
}

export const CATALOG = buildCatalog();
