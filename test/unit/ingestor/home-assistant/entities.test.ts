// The entity table of the Home Assistant bridge (ingestor/home-assistant/entities.ts) against
// Home Assistant's own rules (testkit/home-assistant.ts, which cites the files of
// home-assistant/core they come from): every device_class / unit / state_class combination is
// one HA accepts, every config passes its MQTT discovery schema, and the values a reading
// gives are what HA can show (numbers, ISO timestamps with a zone, "None" for unknown).
import { describe, expect, it } from 'vitest';
import { nodeId } from '../../../../common/home-assistant.js';
import { METRIC_NAMES, type Header } from '../../../../common/schema.js';
import { componentConfig, deviceBlock, deviceConfig, entityConfig, type DiscoveryOptions } from '../../../../ingestor/home-assistant/discovery.js';
import { bootTimestamp, ENTITIES, entitiesOf, slug } from '../../../../ingestor/home-assistant/entities.js';
import { binaryStateProblem, configProblems, parseDiscoveryTopic, pythonStr, renderValueTemplate, sensorStateProblem } from '../../../../testkit/home-assistant.js';

const opts: DiscoveryOptions = { discoveryPrefix: 'homeassistant', statePrefix: 'machmon-ha', version: '0.1.0', configurationUrl: 'http://grafana.lan:3000/d/machmon-host?var-host={host}' };
const header: Header = { hostname: 'pi-kitchen', system: 'Raspbian', sampleTimeMs: Date.UTC(2026, 11, 1, 12, 0, 0), seq: 1, agentVersion: '0.1.0', monotonicMs: 3_600_000 };

describe('the Home Assistant entity table', () => {
  it.each(ENTITIES.map((e) => [`${e.group}.${e.key}`, e] as const))('%s is a combination Home Assistant accepts', (_, def) => {
    const config = componentConfig('pi-kitchen', { def, objectId: def.rowKey ? `${def.key}_x` : def.key, name: def.rowKey ? `${def.name} x` : def.name, value: null }, opts);
    expect(configProblems(def.component, { ...config, device: deviceBlock('pi-kitchen', { model: 'Raspberry Pi 4 Model B Rev 1.4', revision: 'd03114', agentVersion: '0.1.0' }, opts), origin: { name: 'Machmon' } })).toEqual([]);
    expect(def.group).toSatisfy((g: string) => (METRIC_NAMES as readonly string[]).includes(g));
    expect(def.key).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('gives every entity of a group its own object id', () => {
    const seen = new Set<string>();
    for (const e of ENTITIES) {
      const id = `${e.group}/${e.key}`;
      expect(seen.has(id), id).toBe(false);
      seen.add(id);
    }
  });

  it('refuses what HA refuses (the rules are not a rubber stamp)', () => {
    const base = { name: 'x', unique_id: 'u', state_topic: 's' };
    expect(configProblems('sensor', { ...base, device_class: 'signal_strength', unit_of_measurement: '%', state_class: 'measurement' })).toHaveLength(1); // rpi-mqtt-monitor#237
    expect(configProblems('sensor', { ...base, state_class: 'none' })).toHaveLength(1); // rpi-mqtt-monitor#212
    expect(configProblems('sensor', { ...base, device_class: 'timestamp', state_class: 'measurement' })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, device_class: 'energy', unit_of_measurement: 'kWh', state_class: 'measurement' })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, device_class: 'made_up' })).toHaveLength(1);
    expect(configProblems('sensor', { name: 'x', unique_id: 'u' })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, device: { name: 'no ids' } })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, availability: [{ payload_available: 'online' }] })).toHaveLength(1);
    expect(configProblems('binary_sensor', { ...base, device_class: 'temperature' })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, entity_category: 'config' })).toHaveLength(1);
    expect(configProblems('sensor', { ...base, stat_t: 's' })).toHaveLength(1);
  });
});

describe('configs and values of a reading', () => {
  const device = deviceBlock('pi-kitchen', { model: 'Raspberry Pi 5 Model B Rev 1.0', revision: 'd04170', agentVersion: '0.1.0', system: 'Raspbian' }, opts);

  it('names the device after the host, with the board, the agent version and the configuration URL', () => {
    expect(device).toEqual({
      identifiers: ['machmon_pi-kitchen'],
      name: 'pi-kitchen',
      manufacturer: 'Raspberry Pi Ltd',
      model: 'Raspberry Pi 5 Model B Rev 1.0',
      sw_version: 'Machmon agent 0.1.0',
      hw_version: 'd04170',
      configuration_url: 'http://grafana.lan:3000/d/machmon-host?var-host=pi-kitchen',
    });
    expect(deviceBlock('nas.lan', { system: 'Debian' }, { ...opts, configurationUrl: undefined })).toEqual({ identifiers: ['machmon_nas_lan'], name: 'nas.lan', model: 'Debian' });
  });

  it('puts each config on a topic HA reads, with a unique_id stable across restarts', () => {
    const [cpu] = entitiesOf('cpu', { idlePercent: 87.5 }, header);
    const c = entityConfig('pi.kitchen', cpu!, device, opts);
    expect(c.topic).toBe('homeassistant/sensor/machmon_pi_kitchen/cpu_use/config');
    expect(parseDiscoveryTopic('homeassistant', c.topic)).toEqual({ component: 'sensor', nodeId: nodeId('pi.kitchen'), objectId: 'cpu_use' });
    expect(c.payload.unique_id).toBe('machmon_pi_kitchen_cpu_use');
    expect(c.payload.availability_mode).toBe('all');
    expect(configProblems('sensor', c.payload)).toEqual([]);
  });

  it('makes one entity per row, with ids that survive odd names and never collide', () => {
    const taken = new Map<string, string>();
    const rows = [{ mountPoint: '/', usagePercent: 41 }, { mountPoint: '/boot/firmware', usagePercent: 21 }, { mountPoint: '/a-b', usagePercent: 1 }, { mountPoint: '/a_b', usagePercent: 2 }];
    const es = entitiesOf('partitions', { rows }, header, taken);
    expect(es.map((e) => e.objectId).slice(0, 3)).toEqual(['disk_used_root', 'disk_used_boot_firmware', 'disk_used_a_b']);
    expect(es[3]!.objectId).toMatch(/^disk_used_a_b_[0-9a-f]{6}$/);
    // The same rows again give the same ids.
    expect(entitiesOf('partitions', { rows }, header, taken).map((e) => e.objectId)).toEqual(es.map((e) => e.objectId));
    expect(es.map((e) => e.name)).toContain('Disk used /boot/firmware');
    expect(slug('thermal_zone0:cpu-thermal')).toBe('thermal_zone0_cpu_thermal');
  });

  it('leaves out the mock temperature and the loopback interface, and Wi-Fi signal where there is none', () => {
    expect(entitiesOf('temperature', { rows: [{ sensor: 'mock', source: 'mock', degreesCelsius: 31 }] }, header)).toEqual([]);
    const net = entitiesOf('networkMetrics', { rows: [{ name: 'lo', rxPackets: 5, txPackets: 5 }, { name: 'wlan0', rxPackets: 10, txPackets: 20, wirelessSignalDbm: -52 }, { name: 'eth0', rxPackets: 1, txPackets: 2 }] }, header);
    expect(net.map((e) => `${e.objectId}=${e.value}`)).toEqual(['packets_received_wlan0=10', 'packets_received_eth0=1', 'packets_sent_wlan0=20', 'packets_sent_eth0=2', 'wifi_signal_wlan0=-52', 'wifi_signal_eth0=null']);
  });

  it('gives null, never 0, for what the agent could not read', () => {
    for (const group of METRIC_NAMES) {
      for (const e of entitiesOf(group, { rows: [{ mountPoint: '/', sensor: 's', source: 'thermal', name: 'eth0', fan: 'f/fan1' }] }, { ...header, monotonicMs: undefined })) {
        expect(e.value, `${group} ${e.objectId}`).toBeNull();
      }
    }
  });

  it('renders states HA can show: numbers, 1/0 for problems, None for unknown', () => {
    const es = [...entitiesOf('cpu', { idlePercent: 12.5 }, header), ...entitiesOf('piHealth', { underVoltageNow: 1, throttledNow: 0, armClockKhz: 1_500_000 }, header), ...entitiesOf('mem', { usedMemKb: 1000, totalMemKb: 4000 }, header)];
    const state = JSON.stringify(Object.fromEntries(es.map((e) => [e.objectId, e.value])));
    const rendered = Object.fromEntries(es.map((e) => [e.objectId, renderValueTemplate(componentConfig('h', e, opts).value_template as string, state)]));
    expect(rendered).toEqual({ cpu_use: '87.5', under_voltage: '1', throttled: '0', frequency_capped: 'None', soft_temperature_limit: 'None', arm_clock: '1500000', memory_used: '25', swap_used: 'None' });
    for (const e of es) {
      const c = componentConfig('h', e, opts);
      const problem = e.def.component === 'binary_sensor' ? binaryStateProblem(c, rendered[e.objectId]!) : sensorStateProblem(c, rendered[e.objectId]!);
      expect(problem, e.objectId).toBeUndefined();
    }
    expect([pythonStr(0.00005), pythonStr(1e-7), pythonStr(12.25), pythonStr(1.5e-5), pythonStr(null), pythonStr(3)]).toEqual(['5e-05', '1e-07', '12.25', '1.5e-05', 'None', '3']);
  });

  it('sends boot time as a UTC timestamp, whatever the Pi\'s time zone', () => {
    // Booted 12:00:00 UTC minus one hour of monotonic time: 11:00:00 UTC, printed in the Pi's local time.
    expect(bootTimestamp('2026-12-01 11:00:00', header)).toBe('2026-12-01T11:00:00+00:00');
    expect(bootTimestamp('2026-12-01 12:00:00', header)).toBe('2026-12-01T11:00:00+00:00'); // CET
    expect(bootTimestamp('2026-12-01 16:30:00', header)).toBe('2026-12-01T11:00:00+00:00'); // IST, +05:30
    expect(bootTimestamp('2026-12-01 06:00:00', { ...header, monotonicMs: 3_600_000 + 1500 })).toBe('2026-12-01T11:00:00+00:00'); // New York, 1.5 s of drift
    expect(bootTimestamp('2026-12-01 11:00:00', { ...header, monotonicMs: 0 })).toBeNull();
    expect(bootTimestamp('yesterday', header)).toBeNull();
    expect(sensorStateProblem({ device_class: 'timestamp' }, bootTimestamp('2026-12-01 11:00:00', header)!)).toBeUndefined();
  });

  it('puts every entity of a host in one device config with device-based discovery', () => {
    const es = [...entitiesOf('cpu', { idlePercent: 50 }, header), ...entitiesOf('piHealth', { underVoltageNow: 0 }, header)];
    const d = deviceConfig('pi-kitchen', es, device, opts);
    expect(d.topic).toBe('homeassistant/device/machmon_pi-kitchen/config');
    expect(parseDiscoveryTopic('homeassistant', d.topic)).toEqual({ component: 'device', nodeId: undefined, objectId: 'machmon_pi-kitchen' });
    const components = d.payload.components as Record<string, Record<string, unknown>>;
    expect(Object.keys(components)).toEqual(['cpu_use', 'under_voltage', 'throttled', 'frequency_capped', 'soft_temperature_limit', 'arm_clock']);
    for (const [id, c] of Object.entries(components)) {
      const { platform, ...config } = c;
      expect(configProblems(platform as string, config), id).toEqual([]);
    }
  });
});
