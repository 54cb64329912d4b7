// The alert rules Grafana provisions: grafana/provisioning/alerting/machmon.yaml, written by
// `npm run dashboards` (grafana/build.ts) and checked fresh by test/unit/grafana/alerts.test.ts.
//
// Format: Grafana's file provisioning of alert rules (Grafana 10.4 and newer, 11.x), read by
// pkg/services/provisioning/alerting/rules_types.go of grafana/grafana (AlertRuleGroupV1:
// orgId, name, folder, interval, rules; AlertRuleV1: uid, title, condition, data, noDataState,
// execErrState, for, annotations, labels; QueryV1: refId, relativeTimeRange, datasourceUid,
// model) and documented in "Use configuration files to provision alerting resources"
// (grafana.com/docs/grafana/v10.4/alerting/set-up/provision-alerting-resources/file-provisioning/).
// The server-side expressions are those of pkg/expr: reduce (mathexp/reduce.go), threshold
// (threshold.go: gt, lt) and math; an instance whose condition value is 0 is Normal, any other
// value Alerting, no value NoData (pkg/services/ngalert/eval/eval.go, evaluateExecutionResult).
//
// Every rule is one InfluxQL query A over its relative time range, reduced per series (B), and
// compared (C, the condition). GROUP BY "hostname" makes the host a label of every alert.
// Measurements, fields and tags are named by group and field (grafana/measurements.ts), so a
// renamed field breaks this file's compilation, not the alert.
import { stringify } from 'yaml';
import path from 'node:path';
import { DATASOURCE } from './build-dashboards.js';
import { GRAFANA_DIR, staleFiles } from './generated-files.js';
import { field, measurement, tag, type FieldOf, type Source, type TagOf } from './measurements.js';

export const ALERTING_DIR = path.join(GRAFANA_DIR, 'provisioning', 'alerting');
export const ALERT_RULES_FILE = 'machmon.yaml';
/** The folder of the dashboards too (grafana/provisioning/dashboards/machmon.yaml). */
export const ALERT_FOLDER = 'Machmon';
/** How often Grafana evaluates the group. */
export const EVALUATION_INTERVAL = '1m';
/** Grafana's uid for server-side expressions. */
export const EXPRESSION_DATASOURCE = { type: '__expr__', uid: '__expr__' } as const;

// ---------------------------------------------------------------------------------------
// Thresholds: every number an alert depends on, with the reason for it.

export const THRESHOLDS = {
  offline: {
    for: '2m',
    lookbackSeconds: 7 * 86_400,
    why: 'An agent that restarts is offline for seconds; two minutes is a host that is really gone. The status is looked up over 7 days: Status points are written only on a change and when the ingestor restarts (the broker hands out the retained status again), so a host dead for longer than that, with no ingestor restart meanwhile, drops out of the rule.',
  },
  silent: {
    /** Minutes averaged: the current (partial) minute and the two before it. */
    minutes: 3,
    lookbackSeconds: 86_400,
    why: 'A reading every agent.intervalMs (10 s): none in the current minute and the two complete minutes before it is two to three minutes of silence, whichever second of the minute Grafana evaluates at (a rule on the current minute alone would fire whenever it evaluates early in a minute). Hosts that sent nothing for a day drop out of the rule.',
  },
  temperature: {
    celsius: 80,
    for: '5m',
    why: 'A Raspberry Pi caps its clock from 80 °C (soft limit) and throttles at 85 °C; five minutes at 80 °C or more is heat, not a passing peak. The dashboards turn red at the same value.',
  },
  partition: {
    percent: 90,
    for: '5m',
    why: 'At 90 % a Pi\'s SD card has days, not weeks, left at normal logging rates; the dashboards turn red at the same value. Five minutes lets a large temporary file come and go.',
  },
  outbox: {
    ageMs: 5 * 60_000,
    why: 'An unconfirmed reading is sent again every agent.outbox.confirmTimeoutMs (30 s); one still unconfirmed after 5 minutes has had ten chances: its readings are not getting stored.',
  },
  ingestor: {
    windowSeconds: 10 * 60,
    why: 'Any rejected message or refused point is worth a look, but the counters move only every ingestor.statsIntervalMs (10 s); ten minutes of history tells an ongoing problem from one already looked at.',
  },
  /** Readings of the current state (temperature, flags, partitions) are looked for this far back. */
  currentLookbackSeconds: 120,
  currentWhy: 'Two minutes hold twelve readings at the default agent.intervalMs (10 s), so one lost reading does not make a series vanish.',
} as const;

// ---------------------------------------------------------------------------------------
// The provisioning file's types (rules_types.go, as the YAML names them)

export interface RelativeTimeRange {
  /** Seconds before the evaluation time. */
  from: number;
  to: number;
}
export interface InfluxModel {
  refId: string;
  datasource: typeof DATASOURCE;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series';
  intervalMs: number;
  maxDataPoints: number;
}
export type ReduceMode = 'strict' | 'dropNN' | 'replaceNN';
export type Reducer = 'last' | 'max' | 'min' | 'mean' | 'sum' | 'count';
export interface ReduceModel {
  refId: string;
  datasource: typeof EXPRESSION_DATASOURCE;
  type: 'reduce';
  expression: string;
  reducer: Reducer;
  settings: { mode: Exclude<ReduceMode, 'strict'> } | { mode: 'replaceNN'; replaceWithValue: number };
}
/** gt and lt only: gte, lte, eq and ne came after Grafana 10.4. */
export type ThresholdType = 'gt' | 'lt';
export interface ThresholdModel {
  refId: string;
  datasource: typeof EXPRESSION_DATASOURCE;
  type: 'threshold';
  expression: string;
  conditions: { evaluator: { type: ThresholdType; params: number[] } }[];
}
export interface MathModel {
  refId: string;
  datasource: typeof EXPRESSION_DATASOURCE;
  type: 'math';
  expression: string;
}
export type ExpressionModel = ReduceModel | ThresholdModel | MathModel;
export interface AlertQuery {
  refId: string;
  relativeTimeRange?: RelativeTimeRange;
  datasourceUid: string;
  model: InfluxModel | ExpressionModel;
}
export type NoDataState = 'NoData' | 'Alerting' | 'OK';
export type ExecErrState = 'Error' | 'Alerting' | 'OK';
export interface AlertRule {
  uid: string;
  title: string;
  condition: string;
  data: AlertQuery[];
  noDataState: NoDataState;
  execErrState: ExecErrState;
  for: string;
  annotations: { summary: string; description: string };
  labels: Record<string, string>;
  isPaused: false;
}
export interface AlertRuleGroup {
  orgId: number;
  name: string;
  folder: string;
  interval: string;
  rules: AlertRule[];
}
export interface AlertingFile {
  apiVersion: 1;
  groups: AlertRuleGroup[];
}

// ---------------------------------------------------------------------------------------
// Rules

type Comparison = { op: ThresholdType; value: number } | { op: '>=' | '=='; value: number };

interface RuleSpec<S extends Source> {
  uid: string;
  title: string;
  source: S;
  /** The InfluxQL SELECT list item over the quoted field, e.g. (f) => `last(${f})`. */
  select: (quotedField: string) => string;
  field: FieldOf<S>;
  /** Extra WHERE terms after $timeFilter. */
  where?: string;
  /** Tags of the alert besides hostname. */
  by?: readonly TagOf<S>[];
  /** GROUP BY time(interval) with fill(value), for queries that must see the minutes without points. */
  timeGroup?: { interval: string; fill: string };
  lookbackSeconds: number;
  reducer: Reducer;
  fire: Comparison;
  for: string;
  /** What no series at all means for this rule. */
  noDataState: NoDataState;
  severity: 'critical' | 'warning';
  summary: string;
  description: string;
}

function rule<S extends Source>(s: RuleSpec<S>): AlertRule {
  const f = field(s.source, s.field);
  const by = ['"hostname"', ...(s.by ?? []).map((t) => `"${tag(s.source, t)}"`)];
  const group = [...(s.timeGroup ? [`time(${s.timeGroup.interval})`] : []), ...by].join(', ');
  const fill = s.timeGroup ? ` fill(${s.timeGroup.fill})` : '';
  const where = ['$timeFilter', ...(s.where ? [s.where] : [])].join(' AND ');
  const query = `SELECT ${s.select(`"${f.name}"`)} AS "value" FROM "${measurement(s.source)}" WHERE ${where} GROUP BY ${group}${fill}`;
  const a: AlertQuery = {
    refId: 'A',
    relativeTimeRange: { from: s.lookbackSeconds, to: 0 },
    datasourceUid: DATASOURCE.uid,
    model: { refId: 'A', datasource: DATASOURCE, query, rawQuery: true, resultFormat: 'time_series', intervalMs: 1000, maxDataPoints: 43_200 },
  };
  const b: AlertQuery = {
    refId: 'B',
    datasourceUid: EXPRESSION_DATASOURCE.uid,
    model: { refId: 'B', datasource: EXPRESSION_DATASOURCE, type: 'reduce', expression: 'A', reducer: s.reducer, settings: { mode: 'dropNN' } },
  };
  const c: AlertQuery = {
    refId: 'C',
    datasourceUid: EXPRESSION_DATASOURCE.uid,
    model:
      s.fire.op === 'gt' || s.fire.op === 'lt'
        ? { refId: 'C', datasource: EXPRESSION_DATASOURCE, type: 'threshold', expression: 'B', conditions: [{ evaluator: { type: s.fire.op, params: [s.fire.value] } }] }
        : { refId: 'C', datasource: EXPRESSION_DATASOURCE, type: 'math', expression: `$B ${s.fire.op} ${s.fire.value}` },
  };
  return {
    uid: s.uid,
    title: s.title,
    condition: 'C',
    data: [a, b, c],
    noDataState: s.noDataState,
    // InfluxDB unreachable or a query refused: Grafana's own DatasourceError alert says so.
    execErrState: 'Error',
    for: s.for,
    annotations: { summary: s.summary, description: s.description },
    labels: { service: 'machmon', severity: s.severity },
    isPaused: false,
  };
}

const T = THRESHOLDS;
const last = (f: string) => `last(${f})`;
const NOT_MOCK = `"${tag('temperature', 'source')}" != 'mock'`;
/** The ingestor's summary point (its per-reason points carry the reason tag). */
const SUMMARY_POINT = `"${tag('ingestor', 'reason')}" = ''`;
const minutes = (s: number) => `${s / 60} minutes`;

export const RULES: readonly AlertRule[] = [
  rule({
    uid: 'machmon-host-offline',
    title: 'Host offline',
    source: 'status',
    field: 'online',
    select: last,
    lookbackSeconds: T.offline.lookbackSeconds,
    reducer: 'last',
    fire: { op: 'lt', value: 1 },
    for: T.offline.for,
    noDataState: 'OK',
    severity: 'critical',
    summary: '{{ $labels.hostname }} is offline: the broker lost its agent\'s connection',
    description: 'The retained status of {{ $labels.hostname }} (machmon/{{ $labels.hostname }}/status) has been "offline" for more than 2 minutes: the broker published the agent\'s Last Will, so the agent stopped, the machine is down or its network is cut. The alert\'s start time is when that was first seen. Readings taken meanwhile are lost only if the agent is not running (README "What happens when things fail").',
  }),
  rule({
    uid: 'machmon-host-silent',
    title: 'Host sends no readings',
    source: 'cpusNumber',
    field: 'cpusTotal',
    select: (f) => `moving_average(count(${f}), ${T.silent.minutes})`,
    timeGroup: { interval: '1m', fill: '0' },
    lookbackSeconds: T.silent.lookbackSeconds,
    reducer: 'last',
    fire: { op: '==', value: 0 },
    for: '0s',
    noDataState: 'OK',
    severity: 'critical',
    summary: 'No reading from {{ $labels.hostname }} has been stored for more than 2 minutes',
    description: 'InfluxDB has no CpusNumber reading (sent every agent interval) of {{ $labels.hostname }} from the last 2 to 3 minutes. With its status still online, the agent is connected but its readings do not arrive: the ingestor or InfluxDB is down (then every host says so), or the agent is stuck. The readings wait in the agent\'s outbox.',
  }),
  rule({
    uid: 'machmon-temperature-high',
    title: 'Temperature high',
    source: 'temperature',
    field: 'degreesCelsius',
    select: last,
    where: NOT_MOCK,
    by: ['sensor'],
    lookbackSeconds: T.currentLookbackSeconds,
    reducer: 'last',
    fire: { op: '>=', value: T.temperature.celsius },
    for: T.temperature.for,
    noDataState: 'OK',
    severity: 'warning',
    summary: '{{ $labels.hostname }} is at {{ printf "%.1f" $values.B.Value }} °C ({{ $labels.sensor }}) for more than 5 minutes',
    description: `Sensor {{ $labels.sensor }} of {{ $labels.hostname }} has read ${T.temperature.celsius} °C or more for 5 minutes. A Raspberry Pi caps its clock from 80 °C and throttles at 85 °C: check its cooling (case, heat sink, fan) and what is running.`,
  }),
  rule({
    uid: 'machmon-pi-under-voltage',
    title: 'Raspberry Pi under-voltage',
    source: 'piHealth',
    field: 'underVoltageNow',
    select: last,
    lookbackSeconds: T.currentLookbackSeconds,
    reducer: 'last',
    fire: { op: 'gt', value: 0 },
    for: '0s',
    noDataState: 'OK',
    severity: 'critical',
    summary: '{{ $labels.hostname }} is under-voltage now: its power supply is too weak',
    description: 'The firmware of {{ $labels.hostname }} reports under-voltage now (get_throttled bit 0): the supply or its cable cannot hold 5 V under load. Expect throttling, USB and SD card errors; use the official supply and a short, thick cable.',
  }),
  rule({
    uid: 'machmon-pi-throttled',
    title: 'Raspberry Pi throttled',
    source: 'piHealth',
    field: 'throttledNow',
    select: last,
    lookbackSeconds: T.currentLookbackSeconds,
    reducer: 'last',
    fire: { op: 'gt', value: 0 },
    for: '0s',
    noDataState: 'OK',
    severity: 'warning',
    summary: '{{ $labels.hostname }} is throttled now (heat or power)',
    description: 'The firmware of {{ $labels.hostname }} is throttling the ARM core now (get_throttled bit 2), because of heat (85 °C) or under-voltage. The host dashboard\'s "Raspberry Pi health" row shows which.',
  }),
  rule({
    uid: 'machmon-partition-full',
    title: 'Partition almost full',
    source: 'partitions',
    field: 'usagePercent',
    select: last,
    by: ['mount'],
    lookbackSeconds: T.currentLookbackSeconds,
    reducer: 'last',
    fire: { op: '>=', value: T.partition.percent },
    for: T.partition.for,
    noDataState: 'OK',
    severity: 'warning',
    summary: '{{ $labels.mount }} on {{ $labels.hostname }} is {{ printf "%.0f" $values.B.Value }} % full',
    description: `The filesystem mounted on {{ $labels.mount }} of {{ $labels.hostname }} has been ${T.partition.percent} % used or more for 5 minutes (the agent reports real filesystems only, as df does). A full root filesystem stops logging and the agent's outbox.`,
  }),
  rule({
    uid: 'machmon-outbox-stuck',
    title: 'Readings not getting through',
    source: 'agentHealth',
    field: 'oldestUnconfirmedAgeMs',
    select: last,
    lookbackSeconds: 5 * 60,
    reducer: 'last',
    fire: { op: 'gt', value: T.outbox.ageMs },
    for: '0s',
    noDataState: 'OK',
    severity: 'warning',
    summary: 'The oldest unconfirmed reading of {{ $labels.hostname }} is {{ printf "%.0f" $values.B.Value }} ms old: its readings are not getting stored',
    description: `The agent of {{ $labels.hostname }} holds a reading that the ingestor has not confirmed stored for more than ${T.outbox.ageMs / 60_000} minutes, although its own health reports arrive. Readings or their confirmations are lost on the way (broker, ingestor, the confirm topic), or InfluxDB refuses them; nothing is lost yet, the outbox keeps them.`,
  }),
  rule({
    uid: 'machmon-ingestor-rejecting',
    title: 'Ingestor rejecting messages',
    source: 'ingestor',
    field: 'rejected',
    select: (f) => `non_negative_difference(${f})`,
    where: SUMMARY_POINT,
    lookbackSeconds: T.ingestor.windowSeconds,
    reducer: 'sum',
    fire: { op: 'gt', value: 0 },
    for: '0s',
    noDataState: 'OK',
    severity: 'warning',
    summary: `The ingestor on {{ $labels.hostname }} rejected {{ printf "%.0f" $values.B.Value }} messages in the last ${minutes(T.ingestor.windowSeconds)}`,
    description: 'Messages the ingestor could not store (undecodable payload, hostname mismatch, value out of range...). The fleet dashboard shows them by reason; the ingestor log names the host of each. Counted between the ingestor\'s self-metrics points: rejections before its first point after a (re)start are in the log and the dashboard only.',
  }),
  rule({
    uid: 'machmon-influxdb-refusing',
    title: 'InfluxDB refusing points',
    source: 'ingestor',
    field: 'influxRefusedPoints',
    select: (f) => `non_negative_difference(${f})`,
    where: SUMMARY_POINT,
    lookbackSeconds: T.ingestor.windowSeconds,
    reducer: 'sum',
    fire: { op: 'gt', value: 0 },
    for: '0s',
    noDataState: 'OK',
    severity: 'warning',
    summary: `InfluxDB refused {{ printf "%.0f" $values.B.Value }} points of the ingestor on {{ $labels.hostname }} in the last ${minutes(T.ingestor.windowSeconds)}`,
    description: 'InfluxDB answered writes with HTTP 400 (field type conflict, bad line): those points are dropped on purpose so one bad reading never stalls the pipeline (README "What happens when things fail"). The ingestor log has InfluxDB\'s message; a type conflict usually means a field was once written with another type.',
  }),
];

export const ALERTING: AlertingFile = {
  apiVersion: 1,
  groups: [{ orgId: 1, name: 'Machmon', folder: ALERT_FOLDER, interval: EVALUATION_INTERVAL, rules: [...RULES] }],
};

const HEADER = `# Machmon alert rules, provisioned by Grafana from this directory (10.4 or newer).
# Generated by grafana/build-alerts.ts (npm run dashboards): edit that file, not this one.
# The rules notify no one until a contact point and a notification policy route them:
# see contact-points.yaml beside this file and README.md, "Alerts".
`;

/**
 * Grafana puts every string of a provisioning file through os.ExpandEnv, and `$$` is its
 * literal `$` (pkg/services/provisioning/values/values.go, interpolateValue): unescaped,
 * `$timeFilter`, `$labels.hostname` and `$B` would become empty strings.
 */
export function escapeDollars<T>(v: T): T {
  if (typeof v === 'string') return v.replaceAll('$', '$$$$') as T;
  if (Array.isArray(v)) return v.map(escapeDollars) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeDollars(x)])) as T;
  return v;
}

/** The text of each file of grafana/provisioning/alerting that the builder writes. */
export function alertFiles(): [file: string, text: string][] {
  return [[ALERT_RULES_FILE, HEADER + stringify(escapeDollars(ALERTING), { lineWidth: 0, aliasDuplicateObjects: false })]];
}

/** Files of `dir` that differ from what this builder writes (missing ones included). */
export const staleAlertFiles = (dir = ALERTING_DIR): string[] => staleFiles(dir, alertFiles());
