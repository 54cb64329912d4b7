// Evaluates a provisioned Grafana alert rule the way Grafana does, against a real InfluxDB:
// the data source query over its relativeTimeRange, then the server-side expressions, then a
// state per alert instance. What it follows, in grafana/grafana:
// - $timeFilter becomes `time >= <from>ms and time <= <to>ms` (pkg/tsdb/influxdb, Query.renderTimeFilter);
//   every series of the answer is one frame whose labels are its tags;
// - a data source query without any series makes the whole rule NoData
//   (pkg/services/ngalert/eval/eval.go: IsNoData, then noDataState decides);
// - reduce turns each series into one number (pkg/expr/mathexp/reduce.go): strict mode gives
//   NaN for a series holding null or NaN, dropNN drops those first, replaceNN replaces them;
//   last/min/max/mean of nothing is NaN, sum of nothing 0, count the number of values;
// - threshold compares each number, giving 1 or 0, and keeps null as null (pkg/expr/threshold.go);
// - math here covers what our rules use: `$REF <op> <number>` with >, >=, <, <=, ==, != (1 or 0);
// - per instance: value null → NoData, 0 → Normal, anything else (NaN included) → Alerting;
//   two instances with the same labels make the rule Error (eval.go, evaluateExecutionResult).
// `for` (pending before firing) is Grafana's state machine over successive evaluations; this
// evaluates one evaluation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { AlertingFile, AlertQuery, AlertRule, ExpressionModel, InfluxModel, ReduceModel } from '../grafana/build-alerts.js';
import { GRAFANA_DIR } from './dashboard-model.js';
import { influxQuery } from './influxd.js';

export const ALERT_RULES_PATH = path.join(GRAFANA_DIR, 'provisioning', 'alerting', 'machmon.yaml');

/**
 * What Grafana makes of a provisioning string (values.go, interpolateValue): `$$` is a literal
 * `$`, any other `$NAME` an environment variable. Throws on the latter: these files use none.
 */
export function interpolateProvisioned<T>(v: T, where = 'alerting'): T {
  if (typeof v === 'string') {
    const parts = v.split('$$');
    if (parts.some((p) => p.includes('$'))) throw new Error(`${where}: "${v}" has a $ that Grafana would expand from the environment (write $$)`);
    return parts.join('$') as T;
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolateProvisioned(x, `${where}[${i}]`)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateProvisioned(x, `${where}.${k}`)])) as T;
  return v;
}

/** The provisioning file as Grafana reads it: parsed YAML, strings interpolated (not the builder's objects). */
export function loadAlerting(file = ALERT_RULES_PATH): AlertingFile {
  return interpolateProvisioned(parse(readFileSync(file, 'utf8')) as AlertingFile);
}

export const alertRules = (file = ALERT_RULES_PATH): AlertRule[] => loadAlerting(file).groups.flatMap((g) => g.rules);

type Labels = Record<string, string>;
type Value = number | null;
interface Series { labels: Labels; values: Value[] }
interface NumberValue { labels: Labels; value: Value }
type Result = { kind: 'series'; series: Series[] } | { kind: 'numbers'; numbers: NumberValue[] };

export type State = 'Normal' | 'Alerting' | 'NoData' | 'Error';
export interface Instance { labels: Labels; state: State; values: Record<string, Value> }
export interface Evaluation {
  /** The whole rule: NoData when a query had no series, Error on duplicate instances. */
  state?: 'NoData' | 'Error';
  instances: Instance[];
  /** The InfluxQL sent, by refId. */
  queries: Record<string, string>;
}

const isInflux = (q: AlertQuery): q is AlertQuery & { model: InfluxModel } => q.datasourceUid !== '__expr__';
const key = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));

/** The query as Grafana's InfluxDB data source sends it at `nowMs`. */
export function influxqlAt(q: AlertQuery & { model: InfluxModel }, nowMs: number): string {
  const range = q.relativeTimeRange;
  if (!range || range.from <= 0) throw new Error(`query ${q.refId}: no relativeTimeRange`);
  const text = q.model.query.replaceAll('$timeFilter', `time >= ${nowMs - range.from * 1000}ms and time <= ${nowMs - range.to * 1000}ms`);
  if (/\$/.test(text)) throw new Error(`query ${q.refId}: a Grafana variable this evaluator does not substitute: ${text}`);
  return text;
}

function reduce(m: ReduceModel, s: Series): Value {
  let v = s.values;
  const bad = (x: Value) => x === null || Number.isNaN(x);
  if (m.settings.mode === 'dropNN') v = v.filter((x) => !bad(x));
  else if (m.settings.mode === 'replaceNN') v = v.map((x) => (bad(x) ? (m.settings as { replaceWithValue: number }).replaceWithValue : x));
  else if (v.some(bad)) return m.reducer === 'count' ? v.length : NaN;
  const nums = v as number[];
  switch (m.reducer) {
    case 'last': return nums.length ? nums[nums.length - 1]! : NaN;
    case 'min': return nums.length ? Math.min(...nums) : NaN;
    case 'max': return nums.length ? Math.max(...nums) : NaN;
    case 'mean': return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : NaN;
    case 'sum': return nums.reduce((a, b) => a + b, 0);
    case 'count': return nums.length;
  }
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  gt: (a, b) => a > b,
  lt: (a, b) => a < b,
};

function numbersOf(r: Result | undefined, ref: string): NumberValue[] {
  if (!r || r.kind !== 'numbers') throw new Error(`${ref} is not a reduced result`);
  return r.numbers;
}

function expression(m: ExpressionModel, results: Map<string, Result>): Result {
  if (m.type === 'reduce') {
    const input = results.get(m.expression);
    if (!input || input.kind !== 'series') throw new Error(`reduce ${m.refId}: ${m.expression} is not a time series`);
    return { kind: 'numbers', numbers: input.series.map((s) => ({ labels: s.labels, value: reduce(m, s) })) };
  }
  if (m.type === 'threshold') {
    if (m.conditions.length !== 1) throw new Error(`threshold ${m.refId}: exactly one condition`);
    const { type, params } = m.conditions[0]!.evaluator;
    const cmp = COMPARE[type];
    if (!cmp || params.length < 1) throw new Error(`threshold ${m.refId}: evaluator ${type} not supported here`);
    return { kind: 'numbers', numbers: numbersOf(results.get(m.expression), m.expression).map((n) => ({ labels: n.labels, value: n.value === null ? null : cmp(n.value, params[0]!) ? 1 : 0 })) };
  }
  const match = /^\$\{?([A-Za-z]\w*)\}? *(>=|<=|==|!=|>|<) *(-?\d+(?:\.\d+)?)$/.exec(m.expression.trim());
  if (!match) throw new Error(`math ${m.refId}: "${m.expression}" is beyond this evaluator`);
  const [, ref, op, num] = match;
  const cmp = COMPARE[op!]!;
  return { kind: 'numbers', numbers: numbersOf(results.get(ref!), ref!).map((n) => ({ labels: n.labels, value: n.value === null ? null : cmp(n.value, Number(num)) ? 1 : 0 })) };
}

/** One evaluation of `rule` at `nowMs` over database `db` of the InfluxDB at `url`. */
export async function evaluateRule(rule: AlertRule, url: string, db: string, nowMs = Date.now()): Promise<Evaluation> {
  const results = new Map<string, Result>();
  const queries: Record<string, string> = {};
  let noData = false;
  for (const q of rule.data) {
    if (isInflux(q)) {
      const text = influxqlAt(q, nowMs);
      queries[q.refId] = text;
      const res = await influxQuery(url, db, text);
      if (res.error) throw new Error(`${rule.uid} ${q.refId}: ${res.error}\n${text}`);
      const series: Series[] = [];
      for (const s of res.series ?? []) {
        for (let c = 0; c < s.columns.length; c++) {
          if (s.columns[c] === 'time') continue;
          series.push({ labels: { ...s.tags }, values: s.values.map((row) => (row[c] === null || row[c] === undefined ? null : Number(row[c]))) });
        }
      }
      if (series.length === 0) noData = true;
      results.set(q.refId, { kind: 'series', series });
    } else {
      results.set(q.refId, expression(q.model as ExpressionModel, results));
    }
  }
  if (noData) return { state: 'NoData', instances: [], queries };
  const condition = numbersOf(results.get(rule.condition), rule.condition);
  const seen = new Set<string>();
  const instances: Instance[] = [];
  for (const n of condition) {
    const k = key(n.labels);
    if (seen.has(k)) return { state: 'Error', instances: [], queries };
    seen.add(k);
    const values: Record<string, Value> = {};
    for (const [ref, r] of results) if (r.kind === 'numbers') values[ref] = r.numbers.find((x) => key(x.labels) === k)?.value ?? null;
    instances.push({ labels: n.labels, state: n.value === null ? 'NoData' : n.value === 0 ? 'Normal' : 'Alerting', values });
  }
  return { instances, queries };
}

/** The state of the instance whose hostname label is `host` (undefined when the rule has none for it). */
export function stateOf(e: Evaluation, host: string, labels: Labels = {}): State | undefined {
  const matches = e.instances.filter((i) => i.labels.hostname === host && Object.entries(labels).every(([k, v]) => i.labels[k] === v));
  if (matches.some((i) => i.state === 'Alerting')) return 'Alerting';
  return matches[0]?.state;
}
