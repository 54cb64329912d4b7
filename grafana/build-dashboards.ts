// Builds grafana/dashboards/*.json, the dashboards Grafana provisions: `npm run dashboards`
// (grafana/build.ts) rewrites them, `npm run dashboards -- --check` exits 1 when they differ.
//
// The JSON files are committed (Grafana reads them as they are); this is where they are
// edited, so ids stay unique, panels never overlap and every query follows the same
// conventions. A dashboard changed in the Grafana UI can be exported and diffed against it.
//
// Conventions of every query (InfluxQL, InfluxDB 1.x or 2.x/3.x through DBRP):
// - hosts are filtered with "hostname" =~ /^$hostname$/ (Grafana turns a multi-value
//   selection into (a|b), so the filter becomes /^(a|b)$/);
// - time series use GROUP BY time($__interval) and fill(null), so a host that stopped
//   reporting shows a gap, not an invented value;
// - measurements, fields and tags are named by source and field (grafana/measurements.ts),
//   never spelt as InfluxDB strings here.
import path from 'node:path';
import { GRAFANA_DIR, staleFiles } from './generated-files.js';
import { field, measurement, tag, type FieldOf, type Source, type TagOf } from './measurements.js';

export const DASHBOARD_DIR = path.join(GRAFANA_DIR, 'dashboards');

/** The data source provisioned by provisioning/datasources/machmon.yaml. */
export const DATASOURCE = { type: 'influxdb', uid: 'machmon-influxdb' } as const;
const FLEET_UID = 'machmon-fleet';
const HOST_UID = 'machmon-host';
const HOST_FILTER = '"hostname" =~ /^$hostname$/';
const WHERE = `WHERE $timeFilter AND ${HOST_FILTER}`;
/** The ingestor's per-reason rejection points (its summary point has no reason). */
const REJECTIONS = `WHERE $timeFilter AND "${tag('ingestor', 'reason')}" != ''`;
/** The broker's figures (MachmonBroker, tagged with the broker's machine, not a fleet host): its summary point, and its per-reason refusal points. */
const BROKER_SUMMARY = `WHERE $timeFilter AND "${tag('broker', 'reason')}" = ''`;
const BROKER_REFUSALS = `WHERE $timeFilter AND "${tag('broker', 'reason')}" != ''`;
const PER_INTERVAL: Fn = (f) => `non_negative_difference(max(${f}))`;

type Json = Record<string, unknown>;
interface Panel extends Json {
  type: string;
  title: string;
}

// ---------------------------------------------------------------------------------------
// Queries

/** A function name ('mean', 'max', 'last') or the expression around the quoted field. */
type Fn = string | ((quotedField: string) => string);
/** [field, alias] pairs of one source. */
type Selected<S extends Source> = readonly (readonly [FieldOf<S>, string])[];
/** Tags to group by; every source has hostname, the default. */
type By<S extends Source> = readonly (TagOf<S> | 'hostname')[];
interface QueryOptions<S extends Source> {
  by?: By<S>;
  fn?: Fn;
  where?: string;
}

const PER_SECOND: Fn = (f) => `non_negative_derivative(max(${f}), 1s)`;

function selectList<S extends Source>(source: S, fields: Selected<S>, fn: Fn): string {
  return fields
    .map(([name, as]) => {
      const quoted = `"${field(source, name).name}"`;
      return `${typeof fn === 'string' ? `${fn}(${quoted})` : fn(quoted)} AS "${as}"`;
    })
    .join(', ');
}

const groupTags = <S extends Source>(source: S, by: By<S>) => by.map((t) => `"${tag(source, t as TagOf<S>)}"`);

/** A time series of the mean (or fn) of each field per interval. */
function meanSeries<S extends Source>(source: S, fields: Selected<S>, { by = ['hostname'], fn = 'mean', where = WHERE }: QueryOptions<S> = {}): string {
  const group = ['time($__interval)', ...groupTags(source, by)].join(', ');
  return `SELECT ${selectList(source, fields, fn)} FROM "${measurement(source)}" ${where} GROUP BY ${group} fill(null)`;
}

/** The last value (or fn) of each field per series, for tables and stats. */
function lastValues<S extends Source>(source: S, fields: Selected<S>, { by = ['hostname'], fn = 'last', where = WHERE }: QueryOptions<S> = {}): string {
  const group = by.length ? ` GROUP BY ${groupTags(source, by).join(', ')}` : '';
  return `SELECT ${selectList(source, fields, fn)} FROM "${measurement(source)}" ${where}${group}`;
}

/** The newest `limit` points as they are. */
function newest<S extends Source>(source: S, fields: Selected<S>, limit: number): string {
  return `SELECT ${selectList(source, fields, (f) => f)} FROM "${measurement(source)}" ${WHERE} ORDER BY time DESC LIMIT ${limit}`;
}

interface Target {
  refId: string;
  datasource: typeof DATASOURCE;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

function target(query: string, { refId = 'A', format = 'time_series', alias }: { refId?: string; format?: Target['resultFormat']; alias?: string } = {}): Target {
  const t: Target = { refId, datasource: DATASOURCE, query, rawQuery: true, resultFormat: format };
  if (alias) t.alias = alias;
  return t;
}

// ---------------------------------------------------------------------------------------
// Panels

interface Thresholds {
  mode: 'absolute';
  steps: { color: string; value: number | null }[];
}
type Mappings = readonly Json[];

const green = 'green';
/** The first step starts at -Infinity. */
function thresholds(base: string, ...steps: [number, string][]): Thresholds {
  return {
    mode: 'absolute',
    steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))],
  };
}
const TEMPERATURE_THRESHOLDS = thresholds(green, [65, 'orange'], [80, 'red']);
const DISK_THRESHOLDS = thresholds(green, [80, 'orange'], [90, 'red']);
const FLAG_MAPPINGS: Mappings = [
  {
    type: 'value',
    options: {
      0: { text: 'OK', color: 'green', index: 0 },
      1: { text: 'YES', color: 'red', index: 1 },
    },
  },
];
const ONLINE_MAPPINGS: Mappings = [
  {
    type: 'value',
    options: {
      0: { text: 'offline', color: 'red', index: 0 },
      1: { text: 'online', color: 'green', index: 1 },
    },
  },
];

function fieldConfig(defaults: Json = {}, overrides: readonly Json[] = []) {
  return { defaults: { color: { mode: 'palette-classic' }, ...defaults }, overrides };
}

interface TimeseriesOptions {
  unit?: string;
  min?: number;
  max?: number;
  thresholds?: Thresholds;
  stack?: boolean;
  description?: string;
  overrides?: readonly Json[];
  draw?: Json;
  mappings?: Mappings;
}

function timeseries(title: string, targets: Target[], { unit, min, max, thresholds: th, stack = false, description, overrides = [], draw = {}, mappings }: TimeseriesOptions = {}): Panel {
  const defaults: Json = {
    unit,
    min,
    max,
    custom: {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: stack ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
      thresholdsStyle: { mode: th ? 'dashed' : 'off' },
      ...draw,
    },
  };
  if (th) defaults.thresholds = th;
  if (mappings) defaults.mappings = mappings;
  return {
    type: 'timeseries',
    title,
    description,
    targets,
    fieldConfig: fieldConfig(defaults, overrides),
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  };
}

interface StatOptions {
  unit?: string;
  thresholds?: Thresholds;
  mappings?: Mappings;
  description?: string;
  textMode?: string;
  colorMode?: string;
  calc?: string;
  fields?: string;
}

function stat(title: string, targets: Target[], { unit, thresholds: th, mappings, description, textMode = 'value_and_name', colorMode = 'value', calc = 'lastNotNull', fields = '' }: StatOptions = {}): Panel {
  return {
    type: 'stat',
    title,
    description,
    targets,
    fieldConfig: fieldConfig({ unit, mappings, thresholds: th ?? thresholds(green), color: { mode: 'thresholds' } }),
    options: {
      reduceOptions: { calcs: [calc], fields, values: false },
      colorMode,
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode,
      wideLayout: true,
    },
  };
}

interface GaugeOptions {
  unit: string;
  min?: number;
  max?: number;
  thresholds?: Thresholds;
  description?: string;
}

/** What a gauge and a bar gauge show beyond the shared last-value reduction. */
const GAUGE_LOOK = {
  gauge: { showThresholdLabels: false, showThresholdMarkers: true },
  bargauge: { orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
} as const;

function gauge(title: string, targets: Target[], { unit, min, max, thresholds: th, description }: GaugeOptions, type: keyof typeof GAUGE_LOOK = 'gauge'): Panel {
  return {
    type,
    title,
    description,
    targets,
    fieldConfig: fieldConfig({ unit, min, max, thresholds: th, color: { mode: 'thresholds' } }),
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, ...GAUGE_LOOK[type] },
  };
}

const bargauge = (title: string, targets: Target[], o: GaugeOptions): Panel => gauge(title, targets, o, 'bargauge');

/** Overrides of one table column, by its name in the query result (alias or tag). */
interface Column {
  displayName?: string;
  unit?: string;
  width?: number;
  mappings?: Mappings;
  thresholds?: Thresholds;
  cell?: string;
  link?: { title: string; url: string };
}

interface TableOptions {
  columns?: Record<string, Column>;
  /** Shows the Time column under this name; hidden otherwise. */
  timeAs?: string;
  sortBy?: [string, 'asc' | 'desc'];
  description?: string;
  merge?: boolean;
}

/** A table of InfluxQL "table" results. */
function table(title: string, targets: Target[], { columns = {}, timeAs, sortBy, description, merge = false }: TableOptions = {}): Panel {
  const overrides = Object.entries(columns).map(([name, c]) => {
    const properties: { id: string; value: unknown }[] = [];
    if (c.displayName) properties.push({ id: 'displayName', value: c.displayName });
    if (c.unit) properties.push({ id: 'unit', value: c.unit });
    if (c.width) properties.push({ id: 'custom.width', value: c.width });
    if (c.mappings) properties.push({ id: 'mappings', value: c.mappings });
    if (c.thresholds) properties.push({ id: 'thresholds', value: c.thresholds });
    if (c.cell) properties.push({ id: 'custom.cellOptions', value: { type: c.cell } });
    if (c.link) properties.push({ id: 'links', value: [c.link] });
    return { matcher: { id: 'byName', options: name }, properties };
  });
  const transformations: Json[] = [];
  if (merge) transformations.push({ id: 'merge', options: {} });
  transformations.push({
    id: 'organize',
    options: { excludeByName: timeAs ? {} : { Time: true }, renameByName: timeAs ? { Time: timeAs } : {}, indexByName: {} },
  });
  return {
    type: 'table',
    title,
    description,
    targets,
    transformations,
    fieldConfig: fieldConfig({ custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false }, color: { mode: 'thresholds' }, thresholds: thresholds(green) }, overrides),
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, sortBy: sortBy ? [{ displayName: sortBy[0], desc: sortBy[1] === 'desc' }] : [] },
  };
}

/** Link from a hostname cell of the fleet dashboard to that host's dashboard. */
const HOST_LINK = {
  title: 'Open ${__value.raw} in the host dashboard',
  url: `/d/${HOST_UID}/machmon-host?var-hostname=\${__value.raw}&\${__url_time_range}`,
};
const HOSTNAME_COLUMN: Record<string, Column> = { hostname: { displayName: 'Host', link: HOST_LINK, width: 160 } };

// ---------------------------------------------------------------------------------------
// Layout and dashboards

type Sized = Panel & { w: number; h: number };
const at = (w: number, h: number, panel: Panel): Sized => ({ w, h, ...panel });

/**
 * Lays panels out in reading order: each item is a sized panel or the title of a row.
 * Panels fill a line of 24 columns left to right and wrap; a row takes a full line. Overlap
 * is impossible by construction (and tested).
 */
function layout(items: (string | Sized)[]): Json[] {
  const panels: Json[] = [];
  let id = 1;
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  const newline = () => {
    y += lineHeight;
    x = 0;
    lineHeight = 0;
  };
  for (const item of items) {
    if (typeof item === 'string') {
      if (x > 0) newline();
      panels.push({ id: id++, type: 'row', title: item, collapsed: false, datasource: DATASOURCE, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
      y += 1;
      continue;
    }
    const { w, h, ...panel } = item;
    if (x + w > 24) newline();
    panels.push({ id: id++, datasource: DATASOURCE, gridPos: { h, w, x, y }, ...panel });
    x += w;
    lineHeight = Math.max(lineHeight, h);
    if (x >= 24) newline();
  }
  return panels;
}

function hostVariable({ multi }: { multi: boolean }): Json {
  const query = 'SHOW TAG VALUES WITH KEY = "hostname"';
  return {
    name: 'hostname',
    label: 'Host',
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query,
    refresh: 2,
    regex: '',
    sort: 1,
    multi,
    includeAll: multi,
    current: multi ? { selected: true, text: ['All'], value: ['$__all'] } : {},
    options: [],
    hide: 0,
  };
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Json[];
  panels: Json[];
  links: Json[];
}

function dashboard({ uid, title, description, variables, panels, links }: DashboardSpec): Json {
  return {
    __inputs: [],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    links,
    panels,
    refresh: '30s',
    schemaVersion: 39,
    tags: ['machmon'],
    templating: { list: variables },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    title,
    uid,
    version: 1,
    weekStart: '',
  };
}

// ---------------------------------------------------------------------------------------
// Fleet dashboard

/** The embedded broker's own figures (MachmonBroker, from machmon/$broker/stats; README "Self-metrics"), one series per broker machine. */
function brokerRow(): (string | Sized)[] {
  const summary = { where: BROKER_SUMMARY, fn: 'max' } as const;
  return [
    'Broker',
    at(8, 8, timeseries('Broker: connections', [target(meanSeries('broker', [
      ['connections', 'all'],
      ['connectionsAgents', 'agents'],
      ['connectionsReaders', 'readers'],
      ['connectionsConnecting', 'not logged in'],
      ['connectionsHeld', 'held (overload)'],
    ], summary), { alias: '$tag_hostname $col' })], {
      description: 'MQTT connections open at the broker: agents, readers (the ingestor, mosquitto_sub, machmon top), sockets that have not logged in yet, and agents the broker does not read from during an overload.',
      unit: 'short',
      min: 0,
    })),
    at(8, 8, timeseries('Broker: messages per second', [target(meanSeries('broker', [['publishesReceived', 'in'], ['publishesDelivered', 'out']], { ...summary, fn: PER_SECOND }), { alias: '$tag_hostname $col' })], {
      description: 'PUBLISH packets taken from clients (in) and messages delivered to subscribers (out, one per subscriber).',
      unit: 'short',
      min: 0,
    })),
    at(8, 8, timeseries('Broker: traffic', [target(meanSeries('broker', [['bytesReceived', 'received'], ['bytesSent', 'sent']], { ...summary, fn: PER_SECOND }), { alias: '$tag_hostname $col' })], {
      description: 'Bytes per second read from and written to client connections.',
      unit: 'Bps',
      min: 0,
    })),
    at(8, 8, timeseries('Broker: logins per interval', [target(meanSeries('broker', [['logins', 'admitted'], ['loginsRefused', 'refused'], ['connectionsAccepted', 'connections']], { ...summary, fn: PER_INTERVAL }), { alias: '$tag_hostname $col' })], {
      description: 'Logins admitted and refused, and connections accepted, per interval. Many refusals: a Pi with a wrong password, or someone guessing (the reasons are beside).',
      unit: 'short',
      min: 0,
      draw: { drawStyle: 'bars', fillOpacity: 60 },
    })),
    at(8, 8, timeseries('Broker: refusals by reason', [target(meanSeries('broker', [['refused', 'refused']], { where: BROKER_REFUSALS, fn: PER_INTERVAL, by: ['hostname', 'reason'] }), { alias: '$tag_reason' })], {
      description: 'Logins, publishes and subscriptions the broker refused per interval, by reason (README "Security model"); the broker log names the client and its address.',
      unit: 'short',
      min: 0,
      draw: { drawStyle: 'bars', fillOpacity: 60 },
    })),
    at(8, 8, timeseries('Broker: queues', [target(meanSeries('broker', [
      ['queuedMessages', 'queued for sessions'],
      ['pendingPublishes', 'waiting for delivery'],
      ['pendingPublishesPeak', 'most waiting (since start)'],
      ['retainedMessages', 'retained'],
      ['droppedQueued', 'not queued, queue full (since start)'],
    ], summary), { alias: '$tag_hostname $col' })], {
      description: 'QoS 1 messages queued for persistent sessions (the ingestor\'s while it is away; at most broker.maxQueuedMessages, the rest not queued and sent again by their agents), publishes waiting for a delivery slot (past broker.maxPendingPublishes the broker stops reading from the agents), and retained statuses.',
      unit: 'short',
      min: 0,
    })),
    at(12, 8, timeseries('Broker: overloads (since start)', [target(meanSeries('broker', [['overloads', 'times'], ['overloadMs', 'time held']], summary), { alias: '$tag_hostname $col' })], {
      description: 'How often, and for how long in all, the broker stopped reading from the agents because too many publishes waited (their readings wait in their outboxes meanwhile).',
      unit: 'short',
      min: 0,
      overrides: [{ matcher: { id: 'byRegexp', options: '.*time held' }, properties: [{ id: 'unit', value: 'ms' }, { id: 'custom.axisPlacement', value: 'right' }] }],
    })),
    at(12, 8, timeseries('Broker: memory', [target(meanSeries('broker', [['rssBytes', 'resident'], ['heapUsedBytes', 'heap used']], summary), { alias: '$tag_hostname $col' })], {
      description: 'The broker process\' resident memory and V8 heap in use. With machmon up this is the whole process (broker, ingestor and agent).',
      unit: 'bytes',
      min: 0,
    })),
  ];
}

function fleet() {
  const panels = layout([
    'Fleet status',
    at(8, 8, table('Hosts online / offline', [target(lastValues('status', [['online', 'Status']], { where: `WHERE ${HOST_FILTER}` }), { format: 'table' })], {
      description: 'Last status each host published (retained MQTT status topic: "online" after connecting, "offline" from its Last Will, i.e. when the broker lost it). "Stored at" is when the ingestor last stored it; after an ingestor restart that is the restart time, as the broker hands out the retained status again.',
      timeAs: 'Stored at',
      columns: { ...HOSTNAME_COLUMN, Status: { mappings: ONLINE_MAPPINGS, cell: 'color-background' } },
      sortBy: ['Status', 'asc'],
    })),
    at(8, 8, table('Last seen', [target(lastValues('cpusNumber', [['cpusTotal', 'CPUs']]), { format: 'table' })], {
      description: 'Time of the newest stored reading of each host (its CpusNumber group, sent every agent interval).',
      timeAs: 'Last seen',
      columns: HOSTNAME_COLUMN,
      sortBy: ['Last seen', 'asc'],
    })),
    at(8, 8, table('Outbox backlog (readings not yet confirmed stored)', [target(lastValues('agentHealth', [['outboxMessages', 'Messages'], ['outboxBytes', 'Bytes'], ['oldestUnconfirmedAgeMs', 'Oldest unconfirmed'], ['droppedTotal', 'Dropped']]), { format: 'table' })], {
      description: 'A host whose outbox grows, or whose oldest unconfirmed reading gets old, is not getting its readings stored (broker, ingestor or InfluxDB unreachable from it).',
      columns: {
        ...HOSTNAME_COLUMN,
        Bytes: { unit: 'bytes' },
        'Oldest unconfirmed': { unit: 'ms', thresholds: thresholds(green, [60000, 'orange'], [300000, 'red']), cell: 'color-text' },
        Dropped: { thresholds: thresholds(green, [1, 'red']), cell: 'color-text' },
      },
      sortBy: ['Oldest unconfirmed', 'desc'],
    })),
    at(10, 8, timeseries('Outbox size per host', [target(meanSeries('agentHealth', [['outboxMessages', 'outbox']], { fn: 'max' }), { alias: '$tag_hostname' })], {
      description: 'Readings each agent holds until the ingestor confirms them stored. A rising line means that host is falling behind.',
      unit: 'short',
      min: 0,
    })),
    at(8, 8, timeseries('Ingestor: rejected messages by reason', [target(meanSeries('ingestor', [['rejected', 'rejected']], { fn: (f) => `non_negative_difference(max(${f}))`, where: REJECTIONS, by: ['reason'] }), { alias: '$tag_reason' })], {
      description: 'Messages the ingestor refused per interval, by reason (undecodable payload, hostname mismatch, value out of range...). Details, with the host, are in the ingestor log.',
      unit: 'short',
      min: 0,
      draw: { drawStyle: 'bars', fillOpacity: 60 },
    })),
    at(6, 8, bargauge('Ingestor: rejected since its start', [target(lastValues('ingestor', [['rejected', 'rejected']], { where: REJECTIONS, by: ['hostname', 'reason'] }), { alias: '$tag_reason' })], {
      description: 'Rejected messages by reason, counted since the ingestor (re)started.',
      unit: 'short',
      min: 0,
      thresholds: thresholds(green, [1, 'orange']),
    })),
    at(24, 7, table('Raspberry Pi power and throttling', [target(lastValues('piHealth', [
      ['underVoltageNow', 'Under-voltage now'],
      ['hwmonLcritAlarm', 'Under-voltage alarm (hwmon)'],
      ['throttledNow', 'Throttled now'],
      ['freqCappedNow', 'Frequency capped now'],
      ['softTempLimitNow', 'Soft temp limit now'],
      ['underVoltageSinceBoot', 'Under-voltage since boot'],
      ['throttledSinceBoot', 'Throttled since boot'],
      ['armClockKhz', 'ARM clock'],
      ['model', 'Model'],
    ]), { format: 'table' })], {
      description: 'From the firmware\'s get_throttled bits and the raspberrypi-hwmon alarm (sysfs). Under-voltage means the power supply or cable is too weak. Only Raspberry Pis report this.',
      columns: {
        ...HOSTNAME_COLUMN,
        ...Object.fromEntries(['Under-voltage now', 'Under-voltage alarm (hwmon)', 'Throttled now', 'Frequency capped now', 'Soft temp limit now', 'Under-voltage since boot', 'Throttled since boot'].map((n) => [n, { mappings: FLAG_MAPPINGS, cell: 'color-background' }])),
        'ARM clock': { unit: 'rotkhz' },
      },
    })),
    'CPU, memory and disk',
    at(12, 8, timeseries('CPU usage', [target(meanSeries('cpu', [['idlePercent', 'used']], { fn: (f) => `100 - mean(${f})` }), { alias: '$tag_hostname' })], {
      description: 'Share of CPU time not idle (user + nice + system + iowait + steal) since the previous sample.',
      unit: 'percent',
      min: 0,
      max: 100,
    })),
    at(12, 8, timeseries('Free RAM', [target(meanSeries('mem', [['freeRamKb', 'free']]), { alias: '$tag_hostname' })], {
      description: 'freeRAM: the free column of the Total line of free -t (physical memory plus swap), in kilobytes.',
      unit: 'kbytes',
      min: 0,
    })),
    at(8, 8, bargauge('Disk usage', [target(lastValues('disk', [['usagePercent', 'used']]), { alias: '$tag_hostname' })], {
      description: 'Used share of all real filesystems together (df --total).',
      unit: 'percent',
      min: 0,
      max: 100,
      thresholds: DISK_THRESHOLDS,
    })),
    at(16, 8, timeseries('Disk usage over time', [target(meanSeries('disk', [['usagePercent', 'used']], { fn: 'max' }), { alias: '$tag_hostname' })], {
      unit: 'percent',
      min: 0,
      max: 100,
      thresholds: DISK_THRESHOLDS,
    })),
    'Temperature',
    at(12, 8, gauge('Current temperature', [target(lastValues('temperature', [['degreesCelsius', 'degrees']], { by: ['hostname', 'sensor'] }), { alias: '$tag_hostname $tag_sensor' })], {
      description: 'Newest reading of every sensor (1-Wire DS18B20, SoC thermal zone, GPIO, or "mock" where none exists).',
      unit: 'celsius',
      min: 0,
      max: 100,
      thresholds: TEMPERATURE_THRESHOLDS,
    })),
    at(12, 8, stat('Max temperature in the time range', [target(lastValues('temperature', [['degreesCelsius', 'max']], { fn: 'max' }), { alias: '$tag_hostname' })], {
      description: 'Highest temperature any sensor of the host reported in the selected time range.',
      unit: 'celsius',
      thresholds: TEMPERATURE_THRESHOLDS,
      colorMode: 'background',
      calc: 'max',
    })),
    at(24, 8, timeseries('Temperature over time', [target(meanSeries('temperature', [['degreesCelsius', 'degrees']], { by: ['hostname', 'sensor'] }), { alias: '$tag_hostname $tag_sensor' })], {
      unit: 'celsius',
      thresholds: TEMPERATURE_THRESHOLDS,
    })),
    'Disk I/O and network',
    at(12, 9, timeseries('Kilobytes read / written per second', [
      target(meanSeries('ioRatio', [['readKbPerSecond', 'read']], { by: ['hostname', 'device'] }), { alias: '$tag_hostname $tag_device read' }),
      target(meanSeries('ioRatio', [['writtenKbPerSecond', 'written']], { by: ['hostname', 'device'] }), { refId: 'B', alias: '$tag_hostname $tag_device written' }),
    ], {
      description: 'Per block device (iostat -d -k). Writes are drawn below the axis.',
      unit: 'KiBs',
      overrides: [{ matcher: { id: 'byRegexp', options: '.* written$' }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }],
    })),
    at(12, 9, timeseries('TX packets per interface', [target(meanSeries('networkMetrics', [['txPackets', 'tx']], { fn: PER_SECOND, by: ['hostname', 'interface'] }), { alias: '$tag_hostname $tag_interface' })], {
      description: 'Packets sent per second, from the TX packet counter of each interface (ifconfig).',
      unit: 'pps',
      min: 0,
    })),
    at(24, 8, table('Network cards', [target(lastValues('networkMetrics', [
      ['ipv4', 'IPv4'],
      ['netmask', 'Netmask'],
      ['ipv6', 'IPv6'],
      ['mac', 'MAC'],
      ['linkEncap', 'Link'],
      ['mtu', 'MTU'],
      ['rxPackets', 'RX packets'],
      ['rxErrors', 'RX errors'],
      ['txPackets', 'TX packets'],
      ['txErrors', 'TX errors'],
    ], { by: ['hostname', 'interface'] }), { format: 'table' })], {
      columns: { ...HOSTNAME_COLUMN, interface: { displayName: 'Interface', width: 110 }, 'RX errors': { thresholds: thresholds(green, [1, 'orange']), cell: 'color-text' }, 'TX errors': { thresholds: thresholds(green, [1, 'orange']), cell: 'color-text' } },
    })),
    'Latency, partitions and processes',
    at(24, 7, table('Latency to the server', [target(lastValues('latency', [
      ['minRttMs', 'Min RTT'],
      ['meanRttMs', 'Mean RTT'],
      ['maxRttMs', 'Max RTT'],
      ['mdevRttMs', 'Mdev RTT'],
      ['packetsTransmitted', 'Sent'],
      ['packetsReceived', 'Received'],
      ['packetLossPercent', 'Packet loss'],
      ['requestDurationMs', 'Probe duration'],
      ['clientServerMs', 'Sample to ingestor'],
    ], { by: ['hostname', 'method'] }), { format: 'table' })], {
      description: 'Round trip to the server (ping, or the TCP connect time where ping is missing: column "method"). "Sample to ingestor" is the time from taking the sample to its arrival at the ingestor.',
      columns: {
        ...HOSTNAME_COLUMN,
        method: { displayName: 'Method', width: 90 },
        'Min RTT': { unit: 'ms' },
        'Mean RTT': { unit: 'ms' },
        'Max RTT': { unit: 'ms' },
        'Mdev RTT': { unit: 'ms' },
        'Packet loss': { unit: 'percent', thresholds: thresholds(green, [1, 'orange'], [10, 'red']), cell: 'color-text' },
        'Probe duration': { unit: 'ms' },
        'Sample to ingestor': { unit: 'ms' },
      },
      sortBy: ['Mean RTT', 'desc'],
    })),
    at(24, 8, table('Partitions', [target(lastValues('partitions', [
      ['device', 'Device'],
      ['fsType', 'Type'],
      ['totalKb', 'Size'],
      ['usedKb', 'Used'],
      ['freeKb', 'Free'],
      ['usagePercent', 'Use %'],
    ], { by: ['hostname', 'mount'] }), { format: 'table' })], {
      columns: {
        ...HOSTNAME_COLUMN,
        mount: { displayName: 'Mounted on' },
        Size: { unit: 'kbytes' },
        Used: { unit: 'kbytes' },
        Free: { unit: 'kbytes' },
        'Use %': { unit: 'percent', thresholds: DISK_THRESHOLDS, cell: 'color-background' },
      },
      sortBy: ['Use %', 'desc'],
    })),
    at(24, 10, table('Running processes (top by CPU)', [target(lastValues('process', [
      ['command', 'Command'],
      ['pid', 'PID'],
      ['user', 'User'],
      ['cpuPercent', 'CPU'],
      ['memPercent', 'Memory'],
      ['state', 'State'],
      ['nice', 'Nice'],
      ['start', 'Started'],
      ['cpuTime', 'CPU time'],
    ], { by: ['hostname', 'rank'] }), { format: 'table' })], {
      description: 'The newest top-N list of each host (ps): CPU can exceed 100 % on multi-core machines (100 % per core).',
      columns: { ...HOSTNAME_COLUMN, rank: { displayName: 'Rank', width: 60 }, CPU: { unit: 'percent' }, Memory: { unit: 'percent' } },
      sortBy: ['CPU', 'desc'],
    })),
    at(24, 7, table('Boot time and load', [target(lastValues('systemAdditionalInfo', [
      ['bootTime', 'Boot time'],
      ['usersLoggedIn', 'Users logged in'],
      ['load1', 'Load 1m'],
      ['load5', 'Load 5m'],
      ['load15', 'Load 15m'],
    ]), { format: 'table' })], {
      description: 'Boot time is the host\'s local time, as uptime -s prints it.',
      columns: HOSTNAME_COLUMN,
      sortBy: ['Boot time', 'desc'],
    })),
    ...brokerRow(),
  ]);
  return dashboard({
    uid: FLEET_UID,
    title: 'Machmon fleet',
    description: 'Every host of the fleet at a glance; click a hostname for its own dashboard.',
    variables: [hostVariable({ multi: true })],
    panels,
    links: [{ title: 'Host', type: 'link', url: `/d/${HOST_UID}/machmon-host`, icon: 'dashboard', includeVars: true, keepTime: true, targetBlank: false, tooltip: 'One host in depth', tags: [], asDropdown: false }],
  });
}

// ---------------------------------------------------------------------------------------
// Host dashboard

function host() {
  const panels = layout([
    'Overview',
    at(4, 5, stat('Status', [target(lastValues('status', [['online', 'status']], { by: [], where: `WHERE ${HOST_FILTER}` }))], { unit: 'none', mappings: ONLINE_MAPPINGS, colorMode: 'background', textMode: 'value' })),
    at(5, 5, stat('Boot time', [target(lastValues('systemAdditionalInfo', [['bootTime', 'boot']], { by: [] }), { format: 'table' })], { unit: 'string', textMode: 'value', fields: '/^boot$/', description: 'Local time of the host, as uptime -s prints it.' })),
    at(5, 5, stat('CPUs (total / online)', [target(lastValues('cpusNumber', [['cpusTotal', 'total'], ['cpusOnline', 'online']], { by: [] }))], { unit: 'short' })),
    at(5, 5, stat('Processes (total / running)', [target(lastValues('processesNumber', [['total', 'total'], ['active', 'running']], { by: [] }))], { unit: 'short' })),
    at(5, 5, stat('Users logged in', [target(lastValues('systemAdditionalInfo', [['usersLoggedIn', 'users']], { by: [] }))], { unit: 'short', textMode: 'value' })),
    'CPU',
    at(12, 8, timeseries('CPU time split', [target(meanSeries('cpu', [
      ['userPercent', 'user'],
      ['nicePercent', 'nice'],
      ['systemPercent', 'system'],
      ['iowaitPercent', 'iowait'],
      ['stealPercent', 'steal'],
    ], { by: [] }))], { description: 'Share of CPU time per state since the previous sample (iostat -c); idle is the rest.', unit: 'percent', min: 0, max: 100, stack: true })),
    at(12, 8, timeseries('Load average', [target(meanSeries('systemAdditionalInfo', [
      ['load1', '1 min'],
      ['load5', '5 min'],
      ['load15', '15 min'],
    ], { by: [] }))], { unit: 'short', min: 0 })),
    'Memory',
    at(8, 8, timeseries('Memory', [target(meanSeries('mem', [
      ['usedMemKb', 'used'],
      ['freeMemKb', 'free'],
      ['sharedMemKb', 'shared'],
      ['buffersMemKb', 'buffers'],
      ['cachedMemKb', 'cached'],
      ['totalMemKb', 'total'],
    ], { by: [] }))], { description: 'Physical memory (free -k, Mem line).', unit: 'kbytes', min: 0 })),
    at(8, 8, timeseries('Swap', [target(meanSeries('mem', [
      ['swapUsedKb', 'used'],
      ['swapFreeKb', 'free'],
      ['swapTotalKb', 'total'],
    ], { by: [] }))], { unit: 'kbytes', min: 0 })),
    at(8, 8, timeseries('RAM (memory + swap)', [target(meanSeries('mem', [
      ['usedRamKb', 'used'],
      ['freeRamKb', 'free'],
      ['totalRamKb', 'total'],
    ], { by: [] }))], { description: 'The Total line of free -t: physical memory plus swap.', unit: 'kbytes', min: 0 })),
    'Disks',
    at(8, 8, gauge('Disk usage', [target(lastValues('disk', [['usagePercent', 'used']], { by: [] }))], { unit: 'percent', min: 0, max: 100, thresholds: DISK_THRESHOLDS, description: 'All real filesystems together (df --total).' })),
    at(16, 8, timeseries('Disk space', [target(meanSeries('disk', [['usedKb', 'used'], ['freeKb', 'free'], ['totalKb', 'total']], { by: [] }))], { unit: 'kbytes', min: 0 })),
    at(24, 8, table('Partitions', [target(lastValues('partitions', [
      ['device', 'Device'],
      ['fsType', 'Type'],
      ['totalKb', 'Size'],
      ['usedKb', 'Used'],
      ['freeKb', 'Free'],
      ['usagePercent', 'Use %'],
    ], { by: ['mount'] }), { format: 'table' })], {
      columns: { mount: { displayName: 'Mounted on' }, Size: { unit: 'kbytes' }, Used: { unit: 'kbytes' }, Free: { unit: 'kbytes' }, 'Use %': { unit: 'percent', thresholds: DISK_THRESHOLDS, cell: 'color-background' } },
      sortBy: ['Use %', 'desc'],
    })),
    at(12, 8, timeseries('Partition usage', [target(meanSeries('partitions', [['usagePercent', 'used']], { by: ['mount'], fn: 'max' }), { alias: '$tag_mount' })], { unit: 'percent', min: 0, max: 100, thresholds: DISK_THRESHOLDS })),
    at(12, 8, timeseries('Kilobytes read / written per second', [
      target(meanSeries('ioRatio', [['readKbPerSecond', 'read']], { by: ['device'] }), { alias: '$tag_device read' }),
      target(meanSeries('ioRatio', [['writtenKbPerSecond', 'written']], { by: ['device'] }), { refId: 'B', alias: '$tag_device written' }),
    ], { unit: 'KiBs', description: 'Writes are drawn below the axis.', overrides: [{ matcher: { id: 'byRegexp', options: '.* written$' }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }] })),
    at(12, 8, timeseries('Transfers per second', [target(meanSeries('ioRatio', [['transfersPerSecond', 'tps']], { by: ['device'] }), { alias: '$tag_device' })], { unit: 'iops', min: 0 })),
    at(12, 8, table('Block devices', [target(lastValues('ioRatio', [['readKbTotal', 'Read since boot'], ['writtenKbTotal', 'Written since boot']], { by: ['device'] }), { format: 'table' })], {
      columns: { device: { displayName: 'Device' }, 'Read since boot': { unit: 'kbytes' }, 'Written since boot': { unit: 'kbytes' } },
    })),
    at(12, 8, timeseries('Bytes written per interval (SD card wear)', [target(meanSeries('ioRatio', [['writtenBytes', 'written']], { by: ['device'], fn: 'sum' }), { alias: '$tag_device' })], {
      description: 'What the agent saw written between two samples, summed per graph interval: SD cards wear out with writes.',
      unit: 'bytes',
      min: 0,
    })),
    at(6, 8, table('Written since boot', [target(lastValues('ioRatio', [['writtenBytesSinceBoot', 'Written']], { by: ['device'] }), { format: 'table' })], {
      columns: { device: { displayName: 'Device' }, Written: { unit: 'bytes' } },
    })),
    at(6, 8, table('Filesystem trouble', [target(lastValues('partitions', [['readOnly', 'Read-only'], ['fsErrors', 'ext4 errors']], { by: ['mount'] }), { format: 'table' })], {
      description: 'A filesystem mounted read-only, or ext4 errors in its superblock: on a Pi, often a dying SD card.',
      columns: { mount: { displayName: 'Mounted on' }, 'Read-only': { mappings: FLAG_MAPPINGS, cell: 'color-background' } },
    })),
    'Temperature',
    at(8, 8, gauge('Current temperature', [target(lastValues('temperature', [['degreesCelsius', 'degrees']], { by: ['sensor'] }), { alias: '$tag_sensor' })], { unit: 'celsius', min: 0, max: 100, thresholds: TEMPERATURE_THRESHOLDS })),
    at(16, 8, timeseries('Temperature per sensor', [target(meanSeries('temperature', [['degreesCelsius', 'degrees']], { by: ['sensor', 'source'] }), { alias: '$tag_sensor ($tag_source)' })], { unit: 'celsius', thresholds: TEMPERATURE_THRESHOLDS })),
    'Network',
    at(24, 7, table('Network cards', [target(lastValues('networkMetrics', [
      ['ipv4', 'IPv4'],
      ['netmask', 'Netmask'],
      ['broadcast', 'Broadcast'],
      ['ipv6', 'IPv6'],
      ['mac', 'MAC'],
      ['linkEncap', 'Link'],
      ['mtu', 'MTU'],
      ['txQueueLen', 'TX queue'],
      ['rxPackets', 'RX packets'],
      ['txPackets', 'TX packets'],
      ['linkSpeedMbps', 'Speed'],
    ], { by: ['interface'] }), { format: 'table' })], { columns: { interface: { displayName: 'Interface' }, Speed: { unit: 'Mbits' } } })),
    at(8, 8, timeseries('TX packets per interface', [target(meanSeries('networkMetrics', [['txPackets', 'tx']], { fn: PER_SECOND, by: ['interface'] }), { alias: '$tag_interface' })], { unit: 'pps', min: 0 })),
    at(8, 8, timeseries('RX packets per interface', [target(meanSeries('networkMetrics', [['rxPackets', 'rx']], { fn: PER_SECOND, by: ['interface'] }), { alias: '$tag_interface' })], { unit: 'pps', min: 0 })),
    at(8, 8, timeseries('Errors and collisions', [target(meanSeries('networkMetrics', [['rxErrors', 'rx errors'], ['txErrors', 'tx errors'], ['collisions', 'collisions']], { fn: 'max', by: ['interface'] }), { alias: '$tag_interface $col' })], {
      description: 'Counters since the interface came up; a rising line is a problem.',
      unit: 'short',
      min: 0,
    })),
    at(12, 8, timeseries('Wi-Fi signal and noise', [target(meanSeries('networkMetrics', [['wirelessSignalDbm', 'signal'], ['wirelessNoiseDbm', 'noise']], { by: ['interface'] }), { alias: '$tag_interface $col' })], {
      description: 'From /proc/net/wireless, in dBm (closer to 0 is stronger). Drivers with a relative scale, and brcmfmac\'s missing noise figure, leave gaps.',
      unit: 'dBm',
      thresholds: thresholds('red', [-80, 'orange'], [-67, green]),
    })),
    at(12, 8, timeseries('Wi-Fi link quality', [target(meanSeries('networkMetrics', [['wirelessLinkQuality', 'quality']], { by: ['interface'] }), { alias: '$tag_interface' })], {
      description: 'As the driver counts it (brcmfmac: out of 70).',
      unit: 'short',
      min: 0,
    })),
    'Latency',
    at(12, 8, timeseries('Round trip to the server', [target(meanSeries('latency', [['minRttMs', 'min'], ['meanRttMs', 'mean'], ['maxRttMs', 'max'], ['mdevRttMs', 'mdev']], { by: ['method'] }), { alias: '$col ($tag_method)' })], { unit: 'ms', min: 0 })),
    at(6, 8, timeseries('Packet loss', [target(meanSeries('latency', [['packetLossPercent', 'loss']], { by: [] }))], { unit: 'percent', min: 0, max: 100, thresholds: thresholds(green, [1, 'orange'], [10, 'red']) })),
    at(6, 8, timeseries('Sample to ingestor / probe time', [target(meanSeries('latency', [['clientServerMs', 'sample to ingestor'], ['requestDurationMs', 'probe duration']], { by: [] }))], {
      description: 'Sample to ingestor: from taking the sample to its arrival at the ingestor (includes the agent\'s outbox wait). Probe duration: how long the latency probe took.',
      unit: 'ms',
    })),
    'Processes',
    at(8, 9, timeseries('Processes', [target(meanSeries('processesNumber', [['total', 'total'], ['active', 'running']], { by: [] }))], { unit: 'short', min: 0 })),
    at(16, 9, table('Running processes (top by CPU)', [target(lastValues('process', [
      ['command', 'Command'],
      ['pid', 'PID'],
      ['user', 'User'],
      ['group', 'Group'],
      ['cpuPercent', 'CPU'],
      ['memPercent', 'Memory'],
      ['state', 'State'],
      ['nice', 'Nice'],
      ['start', 'Started'],
      ['cpuTime', 'CPU time'],
    ], { by: ['rank'] }), { format: 'table' })], { columns: { rank: { displayName: 'Rank', width: 60 }, CPU: { unit: 'percent' }, Memory: { unit: 'percent' } }, sortBy: ['CPU', 'desc'] })),
    'Logs',
    at(24, 10, table('System log', [target(newest('logs', [['date', 'Date'], ['process', 'Process'], ['message', 'Message']], 500), { format: 'table' })], {
      description: 'New lines of the system log (syslog or the journal), newest first, at most 500.',
      columns: { Date: { width: 170 }, Process: { width: 160 } },
    })),
    'Raspberry Pi health',
    at(12, 8, timeseries('Under-voltage and throttling', [target(meanSeries('piHealth', [
      ['underVoltageNow', 'under-voltage'],
      ['hwmonLcritAlarm', 'under-voltage alarm (hwmon)'],
      ['throttledNow', 'throttled'],
      ['freqCappedNow', 'frequency capped'],
      ['softTempLimitNow', 'soft temperature limit'],
    ], { by: [], fn: 'max' }))], { description: 'Flags of the firmware (1 = set). Only Raspberry Pis report them.', min: 0, max: 1, unit: 'short', draw: { drawStyle: 'line', lineInterpolation: 'stepAfter' } })),
    at(6, 8, timeseries('ARM clock', [target(meanSeries('piHealth', [['armClockKhz', 'ARM clock']], { by: [] }))], { unit: 'rotkhz', min: 0 })),
    at(6, 8, table('Pi flags since boot', [target(lastValues('piHealth', [
      ['model', 'Model'],
      ['revision', 'Revision'],
      ['serial', 'Serial'],
      ['throttledRaw', 'get_throttled'],
      ['underVoltageSinceBoot', 'Under-voltage'],
      ['freqCappedSinceBoot', 'Frequency capped'],
      ['throttledSinceBoot', 'Throttled'],
      ['softTempLimitSinceBoot', 'Soft temp limit'],
    ], { by: [] }), { format: 'table' })], {
      columns: Object.fromEntries(['Under-voltage', 'Frequency capped', 'Throttled', 'Soft temp limit'].map((n) => [n, { mappings: FLAG_MAPPINGS, cell: 'color-background' }])),
    })),
    at(8, 8, timeseries('CPU clock per policy', [target(meanSeries('cpuFreq', [['curKhz', 'current'], ['minKhz', 'min'], ['maxKhz', 'max']], { by: ['policy'] }), { alias: '$tag_policy $col' })], {
      description: 'cpufreq: the frequency the kernel requested. The firmware may run slower; the frequency-capped and throttled flags say when.',
      unit: 'rotkhz',
      min: 0,
    })),
    at(8, 8, timeseries('Fan speed', [target(meanSeries('fan', [['rpm', 'rpm']], { by: ['fan'] }), { alias: '$tag_fan' })], {
      description: 'hwmon fans (the Pi 5 Active Cooler is pwmfan). Its tachometer is unreliable at mid PWM: compare with the duty.',
      unit: 'rotrpm',
      min: 0,
    })),
    at(8, 8, timeseries('Fan PWM duty', [target(meanSeries('fan', [['pwmPercent', 'duty']], { by: ['fan'] }), { alias: '$tag_fan' })], { unit: 'percent', min: 0, max: 100 })),
    'Agent health',
    at(8, 8, timeseries('Outbox', [target(meanSeries('agentHealth', [['outboxMessages', 'messages']], { by: [], fn: 'max' }))], { description: 'Readings waiting for the ingestor\'s confirmation that they are stored.', unit: 'short', min: 0 })),
    at(8, 8, timeseries('Oldest unconfirmed reading', [target(meanSeries('agentHealth', [['oldestUnconfirmedAgeMs', 'age']], { by: [], fn: 'max' }))], { unit: 'ms', min: 0, thresholds: thresholds(green, [60000, 'orange'], [300000, 'red']) })),
    at(8, 8, timeseries('Dropped, re-sent, collector failures (since agent start)', [target(meanSeries('agentHealth', [['droppedTotal', 'dropped'], ['resentTotal', 're-sent'], ['collectorFailuresTotal', 'collector failures'], ['outboxBytes', 'outbox bytes']], { by: [], fn: 'max' }))], {
      unit: 'short',
      min: 0,
      overrides: [{ matcher: { id: 'byName', options: 'outbox bytes' }, properties: [{ id: 'unit', value: 'bytes' }, { id: 'custom.axisPlacement', value: 'right' }] }],
    })),
  ]);
  return dashboard({
    uid: HOST_UID,
    title: 'Machmon host',
    description: 'One host in depth: every metric group the agent sends.',
    variables: [hostVariable({ multi: false })],
    panels,
    links: [{ title: 'Fleet', type: 'link', url: `/d/${FLEET_UID}/machmon-fleet`, icon: 'dashboard', includeVars: false, keepTime: true, targetBlank: false, tooltip: 'Every host at a glance', tags: [], asDropdown: false }],
  });
}

// ---------------------------------------------------------------------------------------

export const DASHBOARDS: Readonly<Record<string, Json>> = { 'machmon-fleet.json': fleet(), 'machmon-host.json': host() };

/** The text of each dashboard file, as written. */
export function dashboardFiles(): [file: string, text: string][] {
  return Object.entries(DASHBOARDS).map(([file, model]) => [file, `${JSON.stringify(model, null, 2)}\n`]);
}

/** Files of `dir` that differ from what this builder writes (missing ones included). */
export const staleDashboards = (dir = DASHBOARD_DIR): string[] => staleFiles(dir, dashboardFiles());
