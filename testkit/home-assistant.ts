// Home Assistant's rules for MQTT discovery configs of sensors and binary sensors, encoded from
// its own source (home-assistant/core), for the tests of ingestor/home-assistant:
//
//   homeassistant/components/sensor/const.py @ 00eb6680fbf6bdf7af2499095f2e74fca980a148:
//     SensorDeviceClass, NON_NUMERIC_DEVICE_CLASSES, SensorStateClass, DEVICE_CLASS_UNITS,
//     DEVICE_CLASS_STATE_CLASSES (the device classes encoded below; a device class not encoded
//     here fails the check: copy its row from that file first). sensor/__init__.py logs "is using
//     state class X which is impossible considering device class Y" and warns on a unit outside
//     DEVICE_CLASS_UNITS; a non-numeric device class takes neither unit nor state class.
//   homeassistant/const.py (MAJOR_VERSION 2025, MINOR_VERSION 5): the unit strings (UnitOf*,
//     PERCENTAGE, SIGNAL_STRENGTH_DECIBELS_MILLIWATT), EntityCategory.
//   homeassistant/components/mqtt/schemas.py @ c6ca7f5f416326437e8e652a5623aa5eff7b3d00:
//     MQTT_AVAILABILITY_*_SCHEMA (availability list items need "topic"; availability_topic and
//     availability exclusive; availability_mode all/any/latest), MQTT_ENTITY_DEVICE_INFO_SCHEMA
//     (identifiers or connections), MQTT_ORIGIN_INFO_SCHEMA (name required), MQTT_ENTITY_COMMON_SCHEMA.
//   homeassistant/components/mqtt/sensor.py (2025): _PLATFORM_SCHEMA_BASE on MQTT_RO_SCHEMA
//     (state_topic required), validate_sensor_state_and_device_class_config (last_reset_value_template
//     only with state_class total; options only with device_class enum and neither unit nor state
//     class); a rendered "None" (PAYLOAD_NONE) makes the state unknown.
//   homeassistant/components/mqtt/binary_sensor.py (2025): payload_on/payload_off, "None" unknown,
//     anything else "No matching payload found for entity".
//   homeassistant/components/binary_sensor/__init__.py @ becaef0a00971e1f74e1b0db525a9c71b044aa01:
//     DEVICE_CLASSES ("problem": on means problem detected).
//   homeassistant/components/mqtt/discovery.py (2025): TOPIC_MATCHER
//     <component>/(<node_id>/)?<object_id>/config with node_id and object_id [a-zA-Z0-9_-]+.

const INFORMATION = ['bit', 'kbit', 'Mbit', 'Gbit', 'B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];
const DATA_RATE = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'B/s', 'kB/s', 'MB/s', 'GB/s', 'KiB/s', 'MiB/s', 'GiB/s'];
const ALL_STATE_CLASSES = ['measurement', 'total', 'total_increasing'] as const;
const M = ['measurement'] as const;

/** Sensor device classes encoded here: units allowed (null: none) and state classes allowed. */
export const SENSOR_DEVICE_CLASSES: Readonly<Record<string, { units: readonly (string | null)[]; stateClasses: readonly string[]; numeric: boolean }>> = {
  temperature: { units: ['°C', '°F', 'K'], stateClasses: M, numeric: true },
  timestamp: { units: [null], stateClasses: [], numeric: false },
  date: { units: [null], stateClasses: [], numeric: false },
  data_size: { units: INFORMATION, stateClasses: ALL_STATE_CLASSES, numeric: true },
  data_rate: { units: DATA_RATE, stateClasses: M, numeric: true },
  frequency: { units: ['Hz', 'kHz', 'MHz', 'GHz'], stateClasses: M, numeric: true },
  signal_strength: { units: ['dB', 'dBm'], stateClasses: M, numeric: true },
  duration: { units: ['d', 'h', 'min', 's', 'ms'], stateClasses: ALL_STATE_CLASSES, numeric: true },
  battery: { units: ['%'], stateClasses: M, numeric: true },
  humidity: { units: ['%'], stateClasses: M, numeric: true },
  power_factor: { units: ['%', null], stateClasses: M, numeric: true },
  voltage: { units: ['µV', 'mV', 'V', 'kV', 'MV'], stateClasses: M, numeric: true },
  current: { units: ['mA', 'A'], stateClasses: M, numeric: true },
  power: { units: ['W', 'kW', 'MW', 'GW', 'TW'], stateClasses: M, numeric: true },
  energy: { units: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'], stateClasses: ['total', 'total_increasing'], numeric: true },
};

export const STATE_CLASSES: readonly string[] = ALL_STATE_CLASSES;

export const BINARY_SENSOR_DEVICE_CLASSES: readonly string[] = [
  'battery', 'battery_charging', 'cold', 'connectivity', 'door', 'garage_door', 'gas', 'heat', 'light', 'lock', 'moisture', 'motion', 'moving',
  'occupancy', 'opening', 'plug', 'power', 'presence', 'problem', 'safety', 'smoke', 'sound', 'vibration', 'window',
];

const ENTITY_CATEGORIES = ['config', 'diagnostic'];
const AVAILABILITY_MODES = ['all', 'any', 'latest'];

const COMMON_KEYS = ['availability', 'availability_mode', 'availability_topic', 'availability_template', 'payload_available', 'payload_not_available', 'device', 'origin', 'enabled_by_default', 'entity_category', 'icon', 'json_attributes_topic', 'json_attributes_template', 'object_id', 'unique_id', 'name', 'state_topic', 'value_template', 'qos', 'encoding'];
const SENSOR_KEYS = new Set([...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'suggested_display_precision', 'state_class', 'unit_of_measurement']);
const BINARY_SENSOR_KEYS = new Set([...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'off_delay', 'payload_on', 'payload_off']);
const DEVICE_KEYS = new Set(['identifiers', 'connections', 'manufacturer', 'model', 'model_id', 'name', 'hw_version', 'serial_number', 'sw_version', 'via_device', 'suggested_area', 'configuration_url']);
const ORIGIN_KEYS = new Set(['name', 'sw_version', 'support_url']);

/** MQTT's rule for a subscribe topic as HA's valid_subscribe_topic applies it: no empty topic, '#' last and alone, '+' alone in its level. */
function validSubscribeTopic(t: unknown): boolean {
  if (typeof t !== 'string' || t === '' || t.includes('\0')) return false;
  const levels = t.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/** Problems of one sensor or binary_sensor discovery config (empty: Home Assistant takes it without a warning). */
export function configProblems(component: string, c: Record<string, unknown>): string[] {
  const p: string[] = [];
  const keys = component === 'sensor' ? SENSOR_KEYS : component === 'binary_sensor' ? BINARY_SENSOR_KEYS : undefined;
  if (!keys) return [`component ${component} is not encoded`];
  for (const k of Object.keys(c)) if (!keys.has(k)) p.push(`unknown key ${k}`);
  if (!validSubscribeTopic(c.state_topic)) p.push('state_topic missing or not a valid topic');
  if (!isStr(c.unique_id) || c.unique_id === '') p.push('no unique_id');
  if (!isStr(c.name) || c.name === '') p.push('no name (HA would name it after the device alone)');
  if (c.value_template !== undefined && !isStr(c.value_template)) p.push('value_template not a string');
  if (c.availability !== undefined && c.availability_topic !== undefined) p.push('availability and availability_topic are exclusive');
  if (c.availability !== undefined) {
    if (!Array.isArray(c.availability) || c.availability.length === 0) p.push('availability must be a non-empty list');
    else for (const a of c.availability as Record<string, unknown>[]) if (!validSubscribeTopic(a?.topic)) p.push(`availability item without a valid topic: ${JSON.stringify(a)}`);
  }
  if (c.availability_mode !== undefined && !AVAILABILITY_MODES.includes(c.availability_mode as string)) p.push(`availability_mode ${String(c.availability_mode)}`);
  if (c.entity_category !== undefined) {
    if (!ENTITY_CATEGORIES.includes(c.entity_category as string)) p.push(`entity_category ${String(c.entity_category)}`);
    // A read-only entity cannot be a config entity.
    else if (c.entity_category === 'config') p.push('entity_category config on a read-only entity');
  }
  if (c.device !== undefined) p.push(...deviceProblems(c.device));
  if (c.origin !== undefined) p.push(...originProblems(c.origin));
  if (component === 'binary_sensor') {
    if (c.device_class !== undefined && !BINARY_SENSOR_DEVICE_CLASSES.includes(c.device_class as string)) p.push(`binary_sensor device_class ${String(c.device_class)}`);
    return p;
  }
  const dc = c.device_class as string | undefined;
  const unit = (c.unit_of_measurement as string | undefined) ?? null;
  const sc = c.state_class as string | undefined;
  if (sc !== undefined && !STATE_CLASSES.includes(sc)) p.push(`state_class ${sc} (HA knows ${STATE_CLASSES.join(', ')})`);
  if (dc !== undefined) {
    const rule = SENSOR_DEVICE_CLASSES[dc];
    if (!rule) p.push(`device_class ${dc} is not encoded in testkit/home-assistant.ts`);
    else {
      if (!rule.units.includes(unit)) p.push(`unit ${String(unit)} is not one of device_class ${dc}'s: ${rule.units.join(', ')}`);
      if (sc !== undefined && !rule.stateClasses.includes(sc)) p.push(`state_class ${sc} is impossible with device_class ${dc} (allowed: ${rule.stateClasses.join(', ') || 'none'})`);
    }
  }
  if (c.last_reset_value_template !== undefined && sc !== 'total') p.push('last_reset_value_template needs state_class total');
  if (c.options !== undefined && (dc !== 'enum' || sc !== undefined || unit !== null)) p.push('options only with device_class enum, without unit or state class');
  if (c.suggested_display_precision !== undefined && !(Number.isInteger(c.suggested_display_precision) && (c.suggested_display_precision as number) >= 0)) p.push('suggested_display_precision must be a positive int');
  return p;
}

function deviceProblems(d: unknown): string[] {
  if (!d || typeof d !== 'object') return ['device is not a mapping'];
  const dev = d as Record<string, unknown>;
  const p = Object.keys(dev).filter((k) => !DEVICE_KEYS.has(k)).map((k) => `unknown device key ${k}`);
  const ids = dev.identifiers;
  const cns = dev.connections;
  if (!(Array.isArray(ids) && ids.length) && !(Array.isArray(cns) && cns.length)) p.push('device has neither identifiers nor connections');
  if (Array.isArray(ids) && !ids.every(isStr)) p.push('device identifiers must be strings');
  for (const k of ['manufacturer', 'model', 'name', 'hw_version', 'sw_version', 'via_device', 'suggested_area']) if (dev[k] !== undefined && !isStr(dev[k])) p.push(`device ${k} not a string`);
  if (dev.configuration_url !== undefined && !/^(https?:\/\/|homeassistant:\/\/)\S+$/.test(String(dev.configuration_url))) p.push('device configuration_url not a URL');
  return p;
}

function originProblems(o: unknown): string[] {
  if (!o || typeof o !== 'object') return ['origin is not a mapping'];
  const origin = o as Record<string, unknown>;
  const p = Object.keys(origin).filter((k) => !ORIGIN_KEYS.has(k)).map((k) => `unknown origin key ${k}`);
  if (!isStr(origin.name) || !origin.name) p.push('origin without name');
  return p;
}

const DISCOVERY_TOPIC = /^(?<component>\w+)\/(?:(?<nodeId>[a-zA-Z0-9_-]+)\/)?(?<objectId>[a-zA-Z0-9_-]+)\/config$/;

/** The parts of a discovery topic under `prefix`, as HA's TOPIC_MATCHER reads it; undefined when HA would ignore the topic. */
export function parseDiscoveryTopic(prefix: string, topic: string): { component: string; nodeId?: string; objectId: string } | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const m = DISCOVERY_TOPIC.exec(topic.slice(prefix.length + 1));
  return m ? { component: m.groups!.component!, nodeId: m.groups!.nodeId, objectId: m.groups!.objectId! } : undefined;
}

/**
 * Renders a value template of exactly the form the bridge writes, `{{ value_json.<key> }}`, on
 * a state payload as HA's MqttValueTemplate does (a Jinja render, result as a string): Python's
 * str() of the JSON value, "None" for null. Anything else throws: the bridge must not write it.
 */
export function renderValueTemplate(template: string, payload: string): string {
  const m = /^\{\{ value_json\.([a-z][a-z0-9_]*) \}\}$/.exec(template);
  if (!m) throw new Error(`value template ${template} is not of the form {{ value_json.<key> }}`);
  const json = JSON.parse(payload) as Record<string, unknown>;
  if (!(m[1]! in json)) throw new Error(`state payload has no key ${m[1]} (Jinja would render it empty and HA would warn)`);
  return pythonStr(json[m[1]!]);
}

/** Python's str() of a value json.loads gave: None, True/False, ints, floats (repr: 1.0, 1e-07), strings as they are. */
export function pythonStr(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Object.is(v, -0)) return String(v);
    // Python's float repr: the shortest round-trip digits (as JS), exponent form below 1e-4 and from 1e16.
    const [mantissa, exp] = v.toExponential().split('e') as [string, string];
    const e = Number(exp);
    if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
    return String(v);
  }
  throw new Error(`state value ${JSON.stringify(v)} is not a scalar`);
}

/** What HA makes of a rendered sensor state: a number, a timestamp, unknown; or a problem it would log. */
export function sensorStateProblem(config: Record<string, unknown>, rendered: string): string | undefined {
  if (rendered === 'None') return undefined; // unknown
  const dc = config.device_class as string | undefined;
  if (dc === 'timestamp') {
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(rendered) ? undefined : `timestamp ${rendered} is not ISO 8601 with a time zone`;
  }
  const numeric = config.state_class !== undefined || config.unit_of_measurement !== undefined || (dc !== undefined && SENSOR_DEVICE_CLASSES[dc]?.numeric);
  if (numeric && !Number.isFinite(Number(rendered))) return `state ${rendered} is not numeric`;
  return undefined;
}

/** What HA makes of a rendered binary sensor state. */
export function binaryStateProblem(config: Record<string, unknown>, rendered: string): string | undefined {
  const on = (config.payload_on as string | undefined) ?? 'ON';
  const off = (config.payload_off as string | undefined) ?? 'OFF';
  return rendered === on || rendered === off || rendered === 'None' ? undefined : `No matching payload found for entity: ${rendered}`;
}
