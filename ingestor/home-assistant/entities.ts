// The Home Assistant entities of a host (README "Home Assistant"): the one table of what each
// metric group becomes in Home Assistant, with the device_class / unit_of_measurement /
// state_class of each entity. test/unit/ingestor/home-assistant/entities.test.ts checks every
// entry against Home Assistant's own rules (testkit/home-assistant.ts, with the source cited).
// A value the agent could not read is null (Home Assistant shows "unknown"), never 0; a group
// that stops arriving makes its entities unavailable (bridge.ts).
import type { Header, MetricName } from '../../common/schema.js';
import { derivedUsagePercent } from '../points.js';

export type Component = 'sensor' | 'binary_sensor';
export type StateClass = 'measurement' | 'total' | 'total_increasing';
type Obj = Record<string, unknown>;
export type Value = number | string | null;

export interface EntityDef {
  /** Object id of the entity (a row entity: its prefix, the row key follows): stable, [a-z0-9_]. */
  readonly key: string;
  readonly group: MetricName;
  readonly component: Component;
  /** Entity name (Home Assistant puts the device name, the hostname, before it); a row entity gets the row key after it. */
  readonly name: string;
  readonly device_class?: string;
  readonly unit_of_measurement?: string;
  readonly state_class?: StateClass;
  readonly entity_category?: 'diagnostic';
  readonly suggested_display_precision?: number;
  /** Multi-row groups: the key of the row this entity is made for (undefined: no entity for that row). */
  readonly rowKey?: (row: Obj) => string | undefined;
  /** The proto fields (decoded names) the value is computed from: what the tests read back from InfluxDB. */
  readonly fields: readonly string[];
  /** The value from the message (or the row) and the reading's header; null when not known. */
  readonly value: (row: Obj, header: Header) => Value;
  /** Made only once a value was seen (Wi-Fi signal exists on wireless interfaces only). */
  readonly onlyWhenSet?: boolean;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const field = (name: string) => (row: Obj) => num(row[name]);
/** The agent's usage, or the one the ingestor stores when the agent left it unset (used and free). */
const diskUsage = (row: Obj) => num(row.usagePercent) ?? derivedUsagePercent(row) ?? null;
const flag = (name: string) => (row: Obj) => {
  const v = num(row[name]);
  return v === null ? null : v ? 1 : 0;
};
/** a / b as a percentage, when both are known and b > 0. */
const percentOf = (a: string, b: string) => (row: Obj) => {
  const x = num(row[a]);
  const y = num(row[b]);
  return x === null || y === null || y <= 0 ? null : (x * 100) / y;
};

/** "YYYY-MM-DD HH:MM:SS" read as if it were UTC, in ms; undefined when it is not that form. */
function localAsUtcMs(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** Time zones are whole quarter hours from UTC. */
const QUARTER_HOUR_MS = 15 * 60_000;

/**
 * The boot time as an ISO 8601 UTC timestamp (device_class timestamp needs a time zone; Home
 * Assistant's developers ask for boot time rather than an uptime counter, home-assistant/core#174412).
 * The agent sends the Pi's local time ("YYYY-MM-DD HH:MM:SS", from btime), whose zone the server
 * does not know: sample time minus monotonic time is the boot in UTC within the clock's drift,
 * which fixes the zone's offset to the nearest quarter hour; the exact second is btime's.
 */
export function bootTimestamp(bootTime: unknown, header: Header): string | null {
  if (typeof bootTime !== 'string') return null;
  const local = localAsUtcMs(bootTime);
  const sample = num(header.sampleTimeMs);
  const mono = num(header.monotonicMs);
  if (local === undefined || sample === null || mono === null || mono <= 0) return null;
  const estimate = sample - mono;
  const offset = Math.round((local - estimate) / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  return new Date(local - offset).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

const rowName = (name: string) => (row: Obj) => {
  const v = row[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** Network rows: every interface but the loopback. */
const interfaceKey = (r: Obj) => (r.name === 'lo' ? undefined : rowName('name')(r));

/** Every entity, in the order they appear in Home Assistant's device page. */
export const ENTITIES: readonly EntityDef[] = [
  { key: 'cpu_use', group: 'cpu', component: 'sensor', name: 'CPU use', unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 1, fields: ['idlePercent'], value: (r) => {
    const idle = num(r.idlePercent);
    return idle === null ? null : Math.max(0, 100 - idle);
  } },
  { key: 'load_1', group: 'systemAdditionalInfo', component: 'sensor', name: 'Load 1 min', state_class: 'measurement', suggested_display_precision: 2, fields: ['load1'], value: field('load1') },
  { key: 'load_5', group: 'systemAdditionalInfo', component: 'sensor', name: 'Load 5 min', state_class: 'measurement', suggested_display_precision: 2, fields: ['load5'], value: field('load5') },
  { key: 'load_15', group: 'systemAdditionalInfo', component: 'sensor', name: 'Load 15 min', state_class: 'measurement', suggested_display_precision: 2, fields: ['load15'], value: field('load15') },
  { key: 'boot_time', group: 'systemAdditionalInfo', component: 'sensor', name: 'Boot time', device_class: 'timestamp', fields: ['bootTime'], value: (r, h) => bootTimestamp(r.bootTime, h) },
  { key: 'memory_used', group: 'mem', component: 'sensor', name: 'Memory used', unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 1, fields: ['usedMemKb', 'totalMemKb'], value: percentOf('usedMemKb', 'totalMemKb') },
  // Machmon's kilobytes are KiB (free -k).
  { key: 'swap_used', group: 'mem', component: 'sensor', name: 'Swap used', device_class: 'data_size', unit_of_measurement: 'KiB', state_class: 'measurement', fields: ['swapUsedKb'], value: field('swapUsedKb') },
  { key: 'disk_used', group: 'disk', component: 'sensor', name: 'Disk used', unit_of_measurement: '%', state_class: 'measurement', fields: ['usagePercent'], value: diskUsage },
  { key: 'disk_used', group: 'partitions', component: 'sensor', name: 'Disk used', unit_of_measurement: '%', state_class: 'measurement', rowKey: rowName('mountPoint'), fields: ['usagePercent'], value: diskUsage },
  // The mock (no real sensor) is no temperature to show.
  { key: 'temperature', group: 'temperature', component: 'sensor', name: 'Temperature', device_class: 'temperature', unit_of_measurement: '°C', state_class: 'measurement', suggested_display_precision: 1, rowKey: (r) => (r.source === 'mock' ? undefined : rowName('sensor')(r)), fields: ['degreesCelsius'], value: field('degreesCelsius') },
  { key: 'processes', group: 'processesNumber', component: 'sensor', name: 'Processes', state_class: 'measurement', fields: ['total'], value: field('total') },
  { key: 'latency', group: 'latency', component: 'sensor', name: 'Latency to the server', device_class: 'duration', unit_of_measurement: 'ms', state_class: 'measurement', suggested_display_precision: 1, fields: ['meanRttMs'], value: field('meanRttMs') },
  // /proc/net/dev packet counters since boot (the schema keeps no byte counts): total_increasing, so a reboot's reset is a new cycle.
  { key: 'packets_received', group: 'networkMetrics', component: 'sensor', name: 'Packets received', unit_of_measurement: 'packets', state_class: 'total_increasing', rowKey: interfaceKey, fields: ['rxPackets'], value: field('rxPackets') },
  { key: 'packets_sent', group: 'networkMetrics', component: 'sensor', name: 'Packets sent', unit_of_measurement: 'packets', state_class: 'total_increasing', rowKey: interfaceKey, fields: ['txPackets'], value: field('txPackets') },
  { key: 'wifi_signal', group: 'networkMetrics', component: 'sensor', name: 'Wi-Fi signal', device_class: 'signal_strength', unit_of_measurement: 'dBm', state_class: 'measurement', rowKey: interfaceKey, onlyWhenSet: true, fields: ['wirelessSignalDbm'], value: field('wirelessSignalDbm') },
  { key: 'under_voltage', group: 'piHealth', component: 'binary_sensor', name: 'Under-voltage', device_class: 'problem', fields: ['underVoltageNow'], value: flag('underVoltageNow') },
  { key: 'throttled', group: 'piHealth', component: 'binary_sensor', name: 'Throttled', device_class: 'problem', fields: ['throttledNow'], value: flag('throttledNow') },
  { key: 'frequency_capped', group: 'piHealth', component: 'binary_sensor', name: 'Frequency capped', device_class: 'problem', fields: ['freqCappedNow'], value: flag('freqCappedNow') },
  { key: 'soft_temperature_limit', group: 'piHealth', component: 'binary_sensor', name: 'Soft temperature limit', device_class: 'problem', fields: ['softTempLimitNow'], value: flag('softTempLimitNow') },
  { key: 'arm_clock', group: 'piHealth', component: 'sensor', name: 'ARM clock', device_class: 'frequency', unit_of_measurement: 'kHz', state_class: 'measurement', fields: ['armClockKhz'], value: field('armClockKhz') },
  { key: 'fan_speed', group: 'fan', component: 'sensor', name: 'Fan speed', unit_of_measurement: 'rpm', state_class: 'measurement', rowKey: rowName('fan'), fields: ['rpm'], value: field('rpm') },
  { key: 'fan_duty', group: 'fan', component: 'sensor', name: 'Fan duty', unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 0, rowKey: rowName('fan'), onlyWhenSet: true, fields: ['pwmPercent'], value: field('pwmPercent') },
  { key: 'outbox_backlog', group: 'agentHealth', component: 'sensor', name: 'Outbox backlog', state_class: 'measurement', entity_category: 'diagnostic', fields: ['outboxMessages'], value: field('outboxMessages') },
  { key: 'oldest_unconfirmed', group: 'agentHealth', component: 'sensor', name: 'Oldest unconfirmed reading', device_class: 'duration', unit_of_measurement: 'ms', state_class: 'measurement', entity_category: 'diagnostic', fields: ['oldestUnconfirmedAgeMs'], value: field('oldestUnconfirmedAgeMs') },
];

/** The entities of each group. */
export const ENTITIES_BY_GROUP: ReadonlyMap<MetricName, readonly EntityDef[]> = (() => {
  const m = new Map<MetricName, EntityDef[]>();
  for (const e of ENTITIES) m.set(e.group, [...(m.get(e.group) ?? []), e]);
  return m;
})();

/** A row key as part of an object id and a JSON key: [a-z0-9_] only ("/boot/firmware" -> "boot_firmware", "/" -> "root"). */
export function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return s === '' ? 'root' : s;
}

/** One entity of one host: the definition, its object id (also its key in the state JSON) and name. */
export interface EntityInstance {
  readonly def: EntityDef;
  readonly objectId: string;
  readonly name: string;
  readonly value: Value;
}

/**
 * The entities a reading gives, with their values. `taken` maps object ids already given to
 * another row key, so that two mount points that slug alike ("/a-b", "/a_b") stay apart.
 */
export function entitiesOf(group: MetricName, message: Obj, header: Header, taken: Map<string, string> = new Map()): EntityInstance[] {
  const defs = ENTITIES_BY_GROUP.get(group);
  if (!defs) return [];
  const out: EntityInstance[] = [];
  for (const def of defs) {
    if (!def.rowKey) {
      out.push({ def, objectId: def.key, name: def.name, value: def.value(message, header) });
      continue;
    }
    const seen = new Set<string>();
    for (const row of (message.rows ?? []) as Obj[]) {
      const rowKey = def.rowKey(row);
      if (rowKey === undefined || seen.has(rowKey)) continue;
      seen.add(rowKey);
      let objectId = `${def.key}_${slug(rowKey)}`;
      const owner = taken.get(objectId);
      if (owner !== undefined && owner !== rowKey) objectId = `${objectId}_${shortHash(rowKey)}`;
      taken.set(objectId, rowKey);
      out.push({ def, objectId, name: `${def.name} ${rowKey}`, value: def.value(row, header) });
    }
  }
  return out;
}

/** 6 hex digits of FNV-1a: enough to keep two row keys that slug alike apart. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h >>> 8).toString(16).padStart(6, '0');
}
