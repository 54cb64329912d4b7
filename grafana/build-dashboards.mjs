#!/usr/bin/env node
// Writes grafana/dashboards/*.json, the dashboards Grafana provisions.
//
//   node grafana/build-dashboards.mjs           rewrite the JSON files
//   node grafana/build-dashboards.mjs --check   exit 1 when they differ from this script
//
// The JSON files are committed (Grafana reads them as they are); this script is where they
// are edited, so ids stay unique, panels never overlap and every query uses the same
// conventions. A dashboard changed in the Grafana UI can be exported and diffed against it.
//
// Conventions of every query (InfluxQL, InfluxDB 1.x or 2.x/3.x through DBRP):
// - hosts are filtered with "hostname" =~ /^$hostname$/ (Grafana turns a multi-value
//   selection into (a|b), so the filter becomes /^(a|b)$/);
// - time series use GROUP BY time($__interval) and fill(null), so a host that stopped
//   reporting shows a gap, not an invented value;
// - names of measurements, fields and tags are those of proto/machmon/v1/machmon.proto.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIR = path.join(HERE, 'dashboards');

/** The data source provisioned by provisioning/datasources/machmon.yaml. */
export const DATASOURCE = { type: 'influxdb', uid: 'machmon-influxdb' };
const FLEET_UID = 'machmon-fleet';
const HOST_UID = 'machmon-host';
const HOST_FILTER = '"hostname" =~ /^$hostname$/';
const WHERE = `WHERE $timeFilter AND ${HOST_FILTER}`;

// ---------------------------------------------------------------------------------------
// Building blocks

const green = 'green';
/** Thresholds: [[value, color], ...], the first step starting at -Infinity. */
function thresholds(base, ...steps) {
  return {
    mode: 'absolute',
    steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))],
  };
}
const TEMPERATURE_THRESHOLDS = thresholds(green, [65, 'orange'], [80, 'red']);
const DISK_THRESHOLDS = thresholds(green, [80, 'orange'], [90, 'red']);
const FLAG_MAPPINGS = [
  {
    type: 'value',
    options: {
      0: { text: 'OK', color: 'green', index: 0 },
      1: { text: 'YES', color: 'red', index: 1 },
    },
  },
];
const ONLINE_MAPPINGS = [
  {
    type: 'value',
    options: {
      0: { text: 'offline', color: 'red', index: 0 },
      1: { text: 'online', color: 'green', index: 1 },
    },
  },
];

function target(query, { refId = 'A', format = 'time_series', alias } = {}) {
  const t = { refId, datasource: DATASOURCE, query, rawQuery: true, resultFormat: format };
  if (alias) t.alias = alias;
  return t;
}

/** A time series of the mean of each field per interval. */
function meanSeries(measurement, fields, { by = ['hostname'], fn = 'mean', where = WHERE } = {}) {
  const select = fields.map(([field, as]) => `${fn}("${field}") AS "${as}"`).join(', ');
  const group = ['time($__interval)', ...by.map((t) => `"${t}"`)].join(', ');
  return `SELECT ${select} FROM "${measurement}" ${where} GROUP BY ${group} fill(null)`;
}

/** The last value of each field per series, for tables and stats. */
function lastValues(measurement, fields, { by = ['hostname'], where = WHERE } = {}) {
  const select = fields.map(([field, as]) => `last("${field}") AS "${as}"`).join(', ');
  const group = by.length ? ` GROUP BY ${by.map((t) => `"${t}"`).join(', ')}` : '';
  return `SELECT ${select} FROM "${measurement}" ${where}${group}`;
}

function fieldConfig(defaults = {}, overrides = []) {
  return { defaults: { color: { mode: 'palette-classic' }, ...defaults }, overrides };
}

function timeseries(title, targets, { unit, min, max, thresholds: th, stack = false, description, overrides = [], draw = {}, mappings } = {}) {
  const defaults = {
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

function stat(title, targets, { unit, thresholds: th, mappings, description, textMode = 'value_and_name', colorMode = 'value', calc = 'lastNotNull', fields = '' } = {}) {
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

function gauge(title, targets, { unit, min, max, thresholds: th, description }) {
  return {
    type: 'gauge',
    title,
    description,
    targets,
    fieldConfig: fieldConfig({ unit, min, max, thresholds: th, color: { mode: 'thresholds' } }),
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showThresholdLabels: false, showThresholdMarkers: true },
  };
}

function bargauge(title, targets, { unit, min, max, thresholds: th, description }) {
  return {
    type: 'bargauge',
    title,
    description,
    targets,
    fieldConfig: fieldConfig({ unit, min, max, thresholds: th, color: { mode: 'thresholds' } }),
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
  };
}

/**
 * A table of InfluxQL "table" results. columns: { name: { unit, width, mappings, thresholds,
 * cell, link, displayName } }; the Time column is hidden unless timeAs renames it.
 */
function table(title, targets, { columns = {}, timeAs, sortBy, description, merge = false } = {}) {
  const overrides = Object.entries(columns).map(([name, c]) => {
    const properties = [];
    if (c.displayName) properties.push({ id: 'displayName', value: c.displayName });
    if (c.unit) properties.push({ id: 'unit', value: c.unit });
    if (c.width) properties.push({ id: 'custom.width', value: c.width });
    if (c.mappings) properties.push({ id: 'mappings', value: c.mappings });
    if (c.thresholds) properties.push({ id: 'thresholds', value: c.thresholds });
    if (c.cell) properties.push({ id: 'custom.cellOptions', value: { type: c.cell } });
    if (c.link) properties.push({ id: 'links', value: [c.link] });
    return { matcher: { id: 'byName', options: name }, properties };
  });
  const transformations = [];
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
const HOSTNAME_COLUMN = { hostname: { displayName: 'Host', link: HOST_LINK, width: 160 } };

/**
 * Lays panels out in reading order: each item is a panel with w/h, or 'row:<title>'.
 * Panels fill a line of 24 columns left to right and wrap; a row takes a full line.
 * Assigns ids and gridPos; overlap is impossible by construction (and tested).
 */
function layout(items) {
  const panels = [];
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
const at = (w, h, panel) => ({ w, h, ...panel });

function hostVariable({ multi }) {
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

function dashboard({ uid, title, description, variables, panels, links }) {
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

function fleet() {
  const panels = layout([
    'Fleet status',
    at(8, 8, table('Hosts online / offline', [target(lastValues('Status', [['online', 'Status']], { where: `WHERE ${HOST_FILTER}` }), { format: 'table' })], {
      description: 'Last status each host published (retained MQTT status topic: "online" after connecting, "offline" from its Last Will, i.e. when the broker lost it). "Stored at" is when the ingestor last stored it; after an ingestor restart that is the restart time, as the broker hands out the retained status again.',
      timeAs: 'Stored at',
      columns: { ...HOSTNAME_COLUMN, Status: { mappings: ONLINE_MAPPINGS, cell: 'color-background' } },
      sortBy: ['Status', 'asc'],
    })),
    at(8, 8, table('Last seen', [target(lastValues('CpusNumber', [['cpusTotalNumber', 'CPUs']]), { format: 'table' })], {
      description: 'Time of the newest stored reading of each host (its CpusNumber group, sent every agent interval).',
      timeAs: 'Last seen',
      columns: HOSTNAME_COLUMN,
      sortBy: ['Last seen', 'asc'],
    })),
    at(8, 8, table('Outbox backlog (readings not yet confirmed stored)', [target(lastValues('AgentHealth', [['outboxMessages', 'Messages'], ['outboxBytes', 'Bytes'], ['oldestUnconfirmedAgeMs', 'Oldest unconfirmed'], ['droppedTotal', 'Dropped']]), { format: 'table' })], {
      description: 'A host whose outbox grows, or whose oldest unconfirmed reading gets old, is not getting its readings stored (broker, ingestor or InfluxDB unreachable from it).',
      columns: {
        ...HOSTNAME_COLUMN,
        Bytes: { unit: 'bytes' },
        'Oldest unconfirmed': { unit: 'ms', thresholds: thresholds(green, [60000, 'orange'], [300000, 'red']), cell: 'color-text' },
        Dropped: { thresholds: thresholds(green, [1, 'red']), cell: 'color-text' },
      },
      sortBy: ['Oldest unconfirmed', 'desc'],
    })),
    at(10, 8, timeseries('Outbox size per host', [target(meanSeries('AgentHealth', [['outboxMessages', 'outbox']], { fn: 'max' }), { alias: '$tag_hostname' })], {
      description: 'Readings each agent holds until the ingestor confirms them stored. A rising line means that host is falling behind.',
      unit: 'short',
      min: 0,
    })),
    at(8, 8, timeseries('Ingestor: rejected messages by reason', [target(`SELECT non_negative_difference(max("rejected")) AS "rejected" FROM "MachmonIngestor" WHERE $timeFilter AND "reason" != '' GROUP BY time($__interval), "reason" fill(null)`, { alias: '$tag_reason' })], {
      description: 'Messages the ingestor refused per interval, by reason (undecodable payload, hostname mismatch, value out of range...). Details, with the host, are in the ingestor log.',
      unit: 'short',
      min: 0,
      draw: { drawStyle: 'bars', fillOpacity: 60 },
    })),
    at(6, 8, bargauge('Ingestor: rejected since its start', [target(`SELECT last("rejected") AS "rejected" FROM "MachmonIngestor" WHERE $timeFilter AND "reason" != '' GROUP BY "hostname", "reason"`, { alias: '$tag_reason' })], {
      description: 'Rejected messages by reason, counted since the ingestor (re)started.',
      unit: 'short',
      min: 0,
      thresholds: thresholds(green, [1, 'orange']),
    })),
    at(24, 7, table('Raspberry Pi power and throttling', [target(lastValues('PiHealth', [
      ['underVoltageNow', 'Under-voltage now'],
      ['hwmonUnderVoltageAlarm', 'Under-voltage alarm (hwmon)'],
      ['throttledNow', 'Throttled now'],
      ['frequencyCappedNow', 'Frequency capped now'],
      ['softTempLimitNow', 'Soft temp limit now'],
      ['underVoltageSinceBoot', 'Under-voltage since boot'],
      ['throttledSinceBoot', 'Throttled since boot'],
      ['armClockKHz', 'ARM clock'],
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
    at(12, 8, timeseries('CPU usage', [target(`SELECT 100 - mean("idlePercentage") AS "used" FROM "Cpu" ${WHERE} GROUP BY time($__interval), "hostname" fill(null)`, { alias: '$tag_hostname' })], {
      description: 'Share of CPU time not idle (user + nice + system + iowait + steal) since the previous sample.',
      unit: 'percent',
      min: 0,
      max: 100,
    })),
    at(12, 8, timeseries('Free RAM', [target(meanSeries('Mem', [['freeRAM', 'free']]), { alias: '$tag_hostname' })], {
      description: 'freeRAM: the free column of the Total line of free -t (physical memory plus swap), in kilobytes.',
      unit: 'kbytes',
      min: 0,
    })),
    at(8, 8, bargauge('Disk usage', [target(lastValues('Disk', [['usagePercentDisk', 'used']]), { alias: '$tag_hostname' })], {
      description: 'Used share of all real filesystems together (df --total).',
      unit: 'percent',
      min: 0,
      max: 100,
      thresholds: DISK_THRESHOLDS,
    })),
    at(16, 8, timeseries('Disk usage over time', [target(meanSeries('Disk', [['usagePercentDisk', 'used']], { fn: 'max' }), { alias: '$tag_hostname' })], {
      unit: 'percent',
      min: 0,
      max: 100,
      thresholds: DISK_THRESHOLDS,
    })),
    'Temperature',
    at(12, 8, gauge('Current temperature', [target(lastValues('Temperature', [['degrees', 'degrees']], { by: ['hostname', 'sensor'] }), { alias: '$tag_hostname $tag_sensor' })], {
      description: 'Newest reading of every sensor (1-Wire DS18B20, SoC thermal zone, GPIO, or "mock" where none exists).',
      unit: 'celsius',
      min: 0,
      max: 100,
      thresholds: TEMPERATURE_THRESHOLDS,
    })),
    at(12, 8, stat('Max temperature in the time range', [target('SELECT max("degrees") AS "max" FROM "Temperature" WHERE $timeFilter AND "hostname" =~ /^$hostname$/ GROUP BY "hostname"', { alias: '$tag_hostname' })], {
      description: 'Highest temperature any sensor of the host reported in the selected time range.',
      unit: 'celsius',
      thresholds: TEMPERATURE_THRESHOLDS,
      colorMode: 'background',
      calc: 'max',
    })),
    at(24, 8, timeseries('Temperature over time', [target(meanSeries('Temperature', [['degrees', 'degrees']], { by: ['hostname', 'sensor'] }), { alias: '$tag_hostname $tag_sensor' })], {
      unit: 'celsius',
      thresholds: TEMPERATURE_THRESHOLDS,
    })),
    'Disk I/O and network',
    at(12, 9, timeseries('Kilobytes read / written per second', [
      target(meanSeries('IoRatio', [['kilobytesReadsPerSecond', 'read']], { by: ['hostname', 'device'] }), { alias: '$tag_hostname $tag_device read' }),
      target(meanSeries('IoRatio', [['kilobytesWrittenPerSecond', 'written']], { by: ['hostname', 'device'] }), { refId: 'B', alias: '$tag_hostname $tag_device written' }),
    ], {
      description: 'Per block device (iostat -d -k). Writes are drawn below the axis.',
      unit: 'KiBs',
      overrides: [{ matcher: { id: 'byRegexp', options: '.* written$' }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }],
    })),
    at(12, 9, timeseries('TX packets per interface', [target('SELECT non_negative_derivative(max("TXPackages"), 1s) AS "tx" FROM "NetworkMetrics" WHERE $timeFilter AND "hostname" =~ /^$hostname$/ GROUP BY time($__interval), "hostname", "interface" fill(null)', { alias: '$tag_hostname $tag_interface' })], {
      description: 'Packets sent per second, from the TX packet counter of each interface (ifconfig).',
      unit: 'pps',
      min: 0,
    })),
    at(24, 8, table('Network cards', [target(lastValues('NetworkMetrics', [
      ['IP', 'IPv4'],
      ['netMask', 'Netmask'],
      ['IPv6Address', 'IPv6'],
      ['MACAddress', 'MAC'],
      ['connectionProtocol', 'Link'],
      ['MTU', 'MTU'],
      ['RXPackages', 'RX packets'],
      ['RXErrors', 'RX errors'],
      ['TXPackages', 'TX packets'],
      ['TXErrors', 'TX errors'],
    ], { by: ['hostname', 'interface'] }), { format: 'table' })], {
      columns: { ...HOSTNAME_COLUMN, interface: { displayName: 'Interface', width: 110 }, 'RX errors': { thresholds: thresholds(green, [1, 'orange']), cell: 'color-text' }, 'TX errors': { thresholds: thresholds(green, [1, 'orange']), cell: 'color-text' } },
    })),
    'Latency, partitions and processes',
    at(24, 7, table('Latency to the server', [target(lastValues('Latency', [
      ['minRTT', 'Min RTT'],
      ['meanRTT', 'Mean RTT'],
      ['maxRTT', 'Max RTT'],
      ['mdevRTT', 'Mdev RTT'],
      ['packageTransmitted', 'Sent'],
      ['packageReceived', 'Received'],
      ['packageLossPercentage', 'Packet loss'],
      ['timeRequest', 'Probe duration'],
      ['clientServer', 'Sample to ingestor'],
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
    at(24, 8, table('Partitions', [target(lastValues('Partitions', [
      ['identificatorName', 'Device'],
      ['type', 'Type'],
      ['totalDisk', 'Size'],
      ['usedDisk', 'Used'],
      ['freeDisk', 'Free'],
      ['usagePercentDisk', 'Use %'],
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
    at(24, 10, table('Running processes (top by CPU)', [target(lastValues('Process', [
      ['command', 'Command'],
      ['pid', 'PID'],
      ['user', 'User'],
      ['usedPercentageCpu', 'CPU'],
      ['usedPercentageMem', 'Memory'],
      ['state', 'State'],
      ['nice', 'Nice'],
      ['start', 'Started'],
      ['cpuTime', 'CPU time'],
    ], { by: ['hostname', 'rank'] }), { format: 'table' })], {
      description: 'The newest top-N list of each host (ps): CPU can exceed 100 % on multi-core machines (100 % per core).',
      columns: { ...HOSTNAME_COLUMN, rank: { displayName: 'Rank', width: 60 }, CPU: { unit: 'percent' }, Memory: { unit: 'percent' } },
      sortBy: ['CPU', 'desc'],
    })),
    at(24, 7, table('Boot time and load', [target(lastValues('SystemAdditionalInfo', [
      ['systemRunningTime', 'Boot time'],
      ['usersLoggedInNumber', 'Users logged in'],
      ['systemLoadAverage1M', 'Load 1m'],
      ['systemLoadAverage5M', 'Load 5m'],
      ['systemLoadAverage15M', 'Load 15m'],
    ]), { format: 'table' })], {
      description: 'Boot time is the host\'s local time, as uptime -s prints it.',
      columns: HOSTNAME_COLUMN,
      sortBy: ['Boot time', 'desc'],
    })),
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
    at(4, 5, stat('Status', [target(lastValues('Status', [['online', 'status']], { by: [], where: `WHERE ${HOST_FILTER}` }))], { unit: 'none', mappings: ONLINE_MAPPINGS, colorMode: 'background', textMode: 'value' })),
    at(5, 5, stat('Boot time', [target(lastValues('SystemAdditionalInfo', [['systemRunningTime', 'boot']], { by: [] }), { format: 'table' })], { unit: 'string', textMode: 'value', fields: '/^boot$/', description: 'Local time of the host, as uptime -s prints it.' })),
    at(5, 5, stat('CPUs (total / online)', [target(lastValues('CpusNumber', [['cpusTotalNumber', 'total'], ['cpusUsageNumber', 'online']], { by: [] }))], { unit: 'short' })),
    at(5, 5, stat('Processes (total / running)', [target(lastValues('ProcessesNumber', [['totalProcessesNumber', 'total'], ['activeProcessesNumber', 'running']], { by: [] }))], { unit: 'short' })),
    at(5, 5, stat('Users logged in', [target(lastValues('SystemAdditionalInfo', [['usersLoggedInNumber', 'users']], { by: [] }))], { unit: 'short', textMode: 'value' })),
    'CPU',
    at(12, 8, timeseries('CPU time split', [target(meanSeries('Cpu', [
      ['userPercentage', 'user'],
      ['nicePercentage', 'nice'],
      ['systemPercentage', 'system'],
      ['iowaitPercentage', 'iowait'],
      ['stealPercentage', 'steal'],
    ], { by: [] }))], { description: 'Share of CPU time per state since the previous sample (iostat -c); idle is the rest.', unit: 'percent', min: 0, max: 100, stack: true })),
    at(12, 8, timeseries('Load average', [target(meanSeries('SystemAdditionalInfo', [
      ['systemLoadAverage1M', '1 min'],
      ['systemLoadAverage5M', '5 min'],
      ['systemLoadAverage15M', '15 min'],
    ], { by: [] }))], { unit: 'short', min: 0 })),
    'Memory',
    at(8, 8, timeseries('Memory', [target(meanSeries('Mem', [
      ['usedMem', 'used'],
      ['freeMem', 'free'],
      ['sharedMem', 'shared'],
      ['buffersMem', 'buffers'],
      ['cachedMem', 'cached'],
      ['totalMem', 'total'],
    ], { by: [] }))], { description: 'Physical memory (free -k, Mem line).', unit: 'kbytes', min: 0 })),
    at(8, 8, timeseries('Swap', [target(meanSeries('Mem', [
      ['swapUsedMem', 'used'],
      ['swapFreeMem', 'free'],
      ['swapTotalMem', 'total'],
    ], { by: [] }))], { unit: 'kbytes', min: 0 })),
    at(8, 8, timeseries('RAM (memory + swap)', [target(meanSeries('Mem', [
      ['usedRAM', 'used'],
      ['freeRAM', 'free'],
      ['totalRAM', 'total'],
    ], { by: [] }))], { description: 'The Total line of free -t: physical memory plus swap.', unit: 'kbytes', min: 0 })),
    'Disks',
    at(8, 8, gauge('Disk usage', [target(lastValues('Disk', [['usagePercentDisk', 'used']], { by: [] }))], { unit: 'percent', min: 0, max: 100, thresholds: DISK_THRESHOLDS, description: 'All real filesystems together (df --total).' })),
    at(16, 8, timeseries('Disk space', [target(meanSeries('Disk', [['usedDisk', 'used'], ['freeDisk', 'free'], ['totalDisk', 'total']], { by: [] }))], { unit: 'kbytes', min: 0 })),
    at(24, 8, table('Partitions', [target(lastValues('Partitions', [
      ['identificatorName', 'Device'],
      ['type', 'Type'],
      ['totalDisk', 'Size'],
      ['usedDisk', 'Used'],
      ['freeDisk', 'Free'],
      ['usagePercentDisk', 'Use %'],
    ], { by: ['mount'] }), { format: 'table' })], {
      columns: { mount: { displayName: 'Mounted on' }, Size: { unit: 'kbytes' }, Used: { unit: 'kbytes' }, Free: { unit: 'kbytes' }, 'Use %': { unit: 'percent', thresholds: DISK_THRESHOLDS, cell: 'color-background' } },
      sortBy: ['Use %', 'desc'],
    })),
    at(12, 8, timeseries('Partition usage', [target(meanSeries('Partitions', [['usagePercentDisk', 'used']], { by: ['mount'], fn: 'max' }), { alias: '$tag_mount' })], { unit: 'percent', min: 0, max: 100, thresholds: DISK_THRESHOLDS })),
    at(12, 8, timeseries('Kilobytes read / written per second', [
      target(meanSeries('IoRatio', [['kilobytesReadsPerSecond', 'read']], { by: ['device'] }), { alias: '$tag_device read' }),
      target(meanSeries('IoRatio', [['kilobytesWrittenPerSecond', 'written']], { by: ['device'] }), { refId: 'B', alias: '$tag_device written' }),
    ], { unit: 'KiBs', description: 'Writes are drawn below the axis.', overrides: [{ matcher: { id: 'byRegexp', options: '.* written$' }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }] })),
    at(12, 8, timeseries('Transfers per second', [target(meanSeries('IoRatio', [['transfersPerSecond', 'tps']], { by: ['device'] }), { alias: '$tag_device' })], { unit: 'iops', min: 0 })),
    at(12, 8, table('Block devices', [target(lastValues('IoRatio', [['kilobytesRead', 'Read since boot'], ['kilobytesWritten', 'Written since boot']], { by: ['device'] }), { format: 'table' })], {
      columns: { device: { displayName: 'Device' }, 'Read since boot': { unit: 'kbytes' }, 'Written since boot': { unit: 'kbytes' } },
    })),
    'Temperature',
    at(8, 8, gauge('Current temperature', [target(lastValues('Temperature', [['degrees', 'degrees']], { by: ['sensor'] }), { alias: '$tag_sensor' })], { unit: 'celsius', min: 0, max: 100, thresholds: TEMPERATURE_THRESHOLDS })),
    at(16, 8, timeseries('Temperature per sensor', [target(meanSeries('Temperature', [['degrees', 'degrees']], { by: ['sensor', 'source'] }), { alias: '$tag_sensor ($tag_source)' })], { unit: 'celsius', thresholds: TEMPERATURE_THRESHOLDS })),
    'Network',
    at(24, 7, table('Network cards', [target(lastValues('NetworkMetrics', [
      ['IP', 'IPv4'],
      ['netMask', 'Netmask'],
      ['broadcastAddress', 'Broadcast'],
      ['IPv6Address', 'IPv6'],
      ['MACAddress', 'MAC'],
      ['connectionProtocol', 'Link'],
      ['MTU', 'MTU'],
      ['txQueueLen', 'TX queue'],
      ['RXPackages', 'RX packets'],
      ['TXPackages', 'TX packets'],
    ], { by: ['interface'] }), { format: 'table' })], { columns: { interface: { displayName: 'Interface' } } })),
    at(8, 8, timeseries('TX packets per interface', [target('SELECT non_negative_derivative(max("TXPackages"), 1s) AS "tx" FROM "NetworkMetrics" WHERE $timeFilter AND "hostname" =~ /^$hostname$/ GROUP BY time($__interval), "interface" fill(null)', { alias: '$tag_interface' })], { unit: 'pps', min: 0 })),
    at(8, 8, timeseries('RX packets per interface', [target('SELECT non_negative_derivative(max("RXPackages"), 1s) AS "rx" FROM "NetworkMetrics" WHERE $timeFilter AND "hostname" =~ /^$hostname$/ GROUP BY time($__interval), "interface" fill(null)', { alias: '$tag_interface' })], { unit: 'pps', min: 0 })),
    at(8, 8, timeseries('Errors and collisions', [target('SELECT max("RXErrors") AS "rx errors", max("TXErrors") AS "tx errors", max("collisions") AS "collisions" FROM "NetworkMetrics" WHERE $timeFilter AND "hostname" =~ /^$hostname$/ GROUP BY time($__interval), "interface" fill(null)', { alias: '$tag_interface $col' })], {
      description: 'Counters since the interface came up; a rising line is a problem.',
      unit: 'short',
      min: 0,
    })),
    'Latency',
    at(12, 8, timeseries('Round trip to the server', [target(meanSeries('Latency', [['minRTT', 'min'], ['meanRTT', 'mean'], ['maxRTT', 'max'], ['mdevRTT', 'mdev']], { by: ['method'] }), { alias: '$col ($tag_method)' })], { unit: 'ms', min: 0 })),
    at(6, 8, timeseries('Packet loss', [target(meanSeries('Latency', [['packageLossPercentage', 'loss']], { by: [] }))], { unit: 'percent', min: 0, max: 100, thresholds: thresholds(green, [1, 'orange'], [10, 'red']) })),
    at(6, 8, timeseries('Sample to ingestor / probe time', [target(meanSeries('Latency', [['clientServer', 'sample to ingestor'], ['timeRequest', 'probe duration']], { by: [] }))], {
      description: 'Sample to ingestor: from taking the sample to its arrival at the ingestor (includes the agent\'s outbox wait). Probe duration: how long the latency probe took.',
      unit: 'ms',
    })),
    'Processes',
    at(8, 9, timeseries('Processes', [target(meanSeries('ProcessesNumber', [['totalProcessesNumber', 'total'], ['activeProcessesNumber', 'running']], { by: [] }))], { unit: 'short', min: 0 })),
    at(16, 9, table('Running processes (top by CPU)', [target(lastValues('Process', [
      ['command', 'Command'],
      ['pid', 'PID'],
      ['user', 'User'],
      ['group', 'Group'],
      ['usedPercentageCpu', 'CPU'],
      ['usedPercentageMem', 'Memory'],
      ['state', 'State'],
      ['nice', 'Nice'],
      ['start', 'Started'],
      ['cpuTime', 'CPU time'],
    ], { by: ['rank'] }), { format: 'table' })], { columns: { rank: { displayName: 'Rank', width: 60 }, CPU: { unit: 'percent' }, Memory: { unit: 'percent' } }, sortBy: ['CPU', 'desc'] })),
    'Logs',
    at(24, 10, table('System log', [target(`SELECT "date" AS "Date", "process" AS "Process", "message" AS "Message" FROM "Logs" ${WHERE} ORDER BY time DESC LIMIT 500`, { format: 'table' })], {
      description: 'New lines of the system log (syslog or the journal), newest first, at most 500.',
      columns: { Date: { width: 170 }, Process: { width: 160 } },
    })),
    'Raspberry Pi health',
    at(12, 8, timeseries('Under-voltage and throttling', [target(meanSeries('PiHealth', [
      ['underVoltageNow', 'under-voltage'],
      ['hwmonUnderVoltageAlarm', 'under-voltage alarm (hwmon)'],
      ['throttledNow', 'throttled'],
      ['frequencyCappedNow', 'frequency capped'],
      ['softTempLimitNow', 'soft temperature limit'],
    ], { by: [], fn: 'max' }))], { description: 'Flags of the firmware (1 = set). Only Raspberry Pis report them.', min: 0, max: 1, unit: 'short', draw: { drawStyle: 'line', lineInterpolation: 'stepAfter' } })),
    at(6, 8, timeseries('ARM clock', [target(meanSeries('PiHealth', [['armClockKHz', 'ARM clock']], { by: [] }))], { unit: 'rotkhz', min: 0 })),
    at(6, 8, table('Pi flags since boot', [target(lastValues('PiHealth', [
      ['model', 'Model'],
      ['throttledRaw', 'get_throttled'],
      ['underVoltageSinceBoot', 'Under-voltage'],
      ['frequencyCappedSinceBoot', 'Frequency capped'],
      ['throttledSinceBoot', 'Throttled'],
      ['softTempLimitSinceBoot', 'Soft temp limit'],
    ], { by: [] }), { format: 'table' })], {
      columns: Object.fromEntries(['Under-voltage', 'Frequency capped', 'Throttled', 'Soft temp limit'].map((n) => [n, { mappings: FLAG_MAPPINGS, cell: 'color-background' }])),
    })),
    'Agent health',
    at(8, 8, timeseries('Outbox', [target(meanSeries('AgentHealth', [['outboxMessages', 'messages']], { by: [], fn: 'max' }))], { description: 'Readings waiting for the ingestor\'s confirmation that they are stored.', unit: 'short', min: 0 })),
    at(8, 8, timeseries('Oldest unconfirmed reading', [target(meanSeries('AgentHealth', [['oldestUnconfirmedAgeMs', 'age']], { by: [], fn: 'max' }))], { unit: 'ms', min: 0, thresholds: thresholds(green, [60000, 'orange'], [300000, 'red']) })),
    at(8, 8, timeseries('Dropped, re-sent, collector failures (since agent start)', [target(meanSeries('AgentHealth', [['droppedTotal', 'dropped'], ['resentTotal', 're-sent'], ['collectorFailuresTotal', 'collector failures'], ['outboxBytes', 'outbox bytes']], { by: [], fn: 'max' }))], {
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

export const DASHBOARDS = { 'machmon-fleet.json': fleet(), 'machmon-host.json': host() };

function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, model] of Object.entries(DASHBOARDS)) {
    const target = path.join(DASHBOARD_DIR, file);
    const text = `${JSON.stringify(model, null, 2)}\n`;
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      /* missing: written below, or stale under --check */
    }
    if (current === text) continue;
    if (check) {
      console.error(`${path.relative(process.cwd(), target)} differs from grafana/build-dashboards.mjs: run node grafana/build-dashboards.mjs`);
      stale++;
    } else {
      writeFileSync(target, text);
      console.log(`wrote ${path.relative(process.cwd(), target)}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
