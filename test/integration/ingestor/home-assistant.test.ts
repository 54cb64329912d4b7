// Home Assistant MQTT discovery end to end (README "Home Assistant"): a real broker with the
// Home Assistant role, a real ingestor with its bridge, real agents for two hosts, the shared
// influxd, and an MQTT client logged in as Home Assistant would be:
//   ha-pi   the agent runtime in this process on the recorded pi4 tree (board model, get_throttled,
//           thermal zone, memory), so its device is a Raspberry Pi with the Pi's binary sensors;
//   ha-box  a `machmon agent` process reading this machine (CPU, load, boot time, memory,
//           processes, network, the outbox), its temperature from a copy of the hot-85c tree.
// Checked: every config and state arrives retained on its topic and passes Home Assistant's
// rules (testkit/home-assistant.ts, cited from home-assistant/core); the value template applied
// to the state JSON gives the value InfluxDB stored for the same reading; Home Assistant's birth
// message brings discovery again; a sensor that can no longer be read makes its group
// unavailable (never 0); a killed agent makes its host unavailable; `machmon forget` removes the
// device; the Home Assistant login is refused everything but its own topics.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatLocalDateTime } from '../../../agent/parse/loadavg.js';
import { forgetHosts } from '../../../cli/forget.js';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';
import { metricSpec, type Header, type MetricName } from '../../../common/schema.js';
import type { Service } from '../../../common/service.js';
import type { IngestorConfig } from '../../../ingestor/config.js';
import { ENTITIES, type EntityDef } from '../../../ingestor/home-assistant/entities.js';
import type { Ingestor } from '../../../ingestor/ingestor.js';
import { closeOf, refusalCode, subackCodes } from '../../../testkit/broker.js';
import { runCli } from '../../../testkit/cli.js';
import { hostTree } from '../../../testkit/fixtures.js';
import { binaryStateProblem, configProblems, parseDiscoveryTopic, renderValueTemplate, sensorStateProblem } from '../../../testkit/home-assistant.js';
import { influxRows } from '../../../testkit/influxd.js';
import { freePort } from '../../../testkit/ports.js';
import { machmonProgram, type Program } from '../../../testkit/processes.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const db = `t_ha_${randomBytes(4).toString('hex')}`;
const PASSWORD = 'ha-test-fleet-password';
const READER_PASSWORD = 'ha-test-reader-password';
const HA_PASSWORD = 'ha-test-home-assistant-password';
const PI = 'ha-pi';
const BOX = 'ha-box';
const PREFIX = 'homeassistant';
const STATE = 'machmon-ha';
const DEADLINE_MS = 30_000;

interface Got { topic: string; payload: string; retain: boolean }

/** An MQTT client logged in as Home Assistant, keeping every message it receives. */
async function homeAssistant(url: string, filters: string[] = [`${PREFIX}/+/+/+/config`, `${PREFIX}/device/+/config`, `${STATE}/#`]) {
  const client = await mqtt.connectAsync(url, { username: 'homeassistant', password: HA_PASSWORD, clientId: `ha-${randomBytes(3).toString('hex')}`, protocolVersion: 4, reconnectPeriod: 0 });
  const got: Got[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  if (filters.length) await client.subscribeAsync(filters, { qos: 1 });
  /** The newest message per topic (an empty one deletes it, as a retained store does). */
  const latest = () => {
    const m = new Map<string, Got>();
    for (const g of got) {
      if (g.payload === '') m.delete(g.topic);
      else m.set(g.topic, g);
    }
    return m;
  };
  return { client, got, latest };
}

/** A fresh Home Assistant login's view of what the broker retains: the retained copies it gets on subscribing (live updates left out). */
async function retained(url: string, filters?: string[]): Promise<Map<string, Got>> {
  const ha = await homeAssistant(url, filters);
  const count = () => ha.got.filter((g) => g.retain).length;
  let n = -1;
  while (n !== count()) {
    n = count();
    await sleep(300);
  }
  await ha.client.endAsync();
  return new Map(ha.got.filter((g) => g.retain).map((g) => [g.topic, g]));
}

const configsOf = (m: Map<string, Got>, host: string) => [...m.values()].filter((g) => g.topic.startsWith(`${PREFIX}/`) && g.topic.includes(`/machmon_${host}/`));
const objectIdOf = (topic: string) => parseDiscoveryTopic(PREFIX, topic)!.objectId;

/** The entity definition behind a config: its group from its availability topic, then its key (row entities: a prefix). */
const groupOf = (config: Record<string, unknown>) => (config.availability as { topic: string }[])[2]!.topic.split('/')[2] as MetricName;
function defOf(config: Record<string, unknown>, objectId: string): { def: EntityDef; rowKey?: string } {
  const group = groupOf(config);
  const defs = ENTITIES.filter((e) => e.group === group);
  const exact = defs.find((e) => !e.rowKey && e.key === objectId);
  if (exact) return { def: exact };
  const row = defs.find((e) => e.rowKey && objectId.startsWith(`${e.key}_`) && (config.name as string).startsWith(`${e.name} `));
  if (!row) throw new Error(`no entity definition for ${objectId} of ${group}`);
  return { def: row, rowKey: (config.name as string).slice(row.name.length + 1) };
}

/** The row tag of a multi-row group's natural key, as the ingestor writes it. */
const ROW_TAGS: Partial<Record<MetricName, string>> = { temperature: 'sensor', partitions: 'mount', networkMetrics: 'interface', fan: 'fan' };

/** The stored point of the reading behind a state, with its fields under their decoded (proto) names. */
async function storedRow(host: string, group: MetricName, sampleTimeMs: number, rowKey?: string): Promise<Record<string, unknown> | undefined> {
  const spec = metricSpec(group);
  const tag = ROW_TAGS[group];
  const where = `"hostname" = '${host}' AND time = ${sampleTimeMs}ms${rowKey !== undefined && tag ? ` AND "${tag}" = '${rowKey.replace(/'/g, "\\'")}'` : ''}`;
  const rows = await influxRows(influxUrl, db, `SELECT * FROM "${spec.measurement}" WHERE ${where}`).catch(() => []);
  if (!rows[0]) return undefined;
  return Object.fromEntries(spec.fields.filter((f) => f.influx).map((f) => [f.name, rows[0]![f.influx!] ?? undefined]));
}

const services: Service[] = [];
const dirs: string[] = [];
let box: Program | undefined;
let brokerUrl = '';
let ingestorCfg: IngestorConfig;
let ingestor: Ingestor;
let boxThermal = '';

beforeAll(async () => {
  const { startBroker } = await import('../../../broker/server.js');
  const { startIngestor } = await import('../../../ingestor/ingestor.js');
  const { startAgent } = await import('../../../agent/runtime/agent.js');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'machmon-ha-'));
  dirs.push(tmp);
  const port = await freePort();
  brokerUrl = `mqtt://127.0.0.1:${port}`;
  const server = loadConfig({
    raw: {
      broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['ha-*'], readers: ['ingestor'], dataDir: path.join(tmp, 'broker'), homeAssistant: { password: HA_PASSWORD } },
      ingestor: {
        brokerUrl,
        password: READER_PASSWORD,
        influx: { url: influxUrl, database: db },
        flushIntervalMs: 200,
        statsIntervalMs: 600_000,
        dataDir: path.join(tmp, 'ingestor'),
        homeAssistant: { stateMinIntervalMs: 500, rediscoveryDelayMs: 300, configurationUrl: 'http://grafana.lan:3000/d/machmon-host?var-hostname={host}' },
      },
    },
    sections: ['broker', 'ingestor'],
    env: {},
  });
  ingestorCfg = server.ingestor!;
  services.push(await startBroker(server.broker!, silentLogger));
  ingestor = await startIngestor(ingestorCfg, silentLogger);
  services.push(ingestor);
  await ingestor.homeAssistant!.ready;

  const agentRaw = (hostname: string, extra: Record<string, unknown>) => ({
    brokerUrl,
    hostname,
    password: PASSWORD,
    intervalMs: 1000,
    clock: { sync: 'none' },
    metrics: { process: { enabled: false }, logs: { enabled: false }, latency: { intervalMs: 1000 } },
    latency: { method: 'tcp' },
    dataDir: path.join(tmp, `agent-${hostname}`),
    ...extra,
  });
  const piRoot = path.join(tmp, 'pi-root');
  cpSync(hostTree('pi4'), piRoot, { recursive: true, verbatimSymlinks: true });
  const pi = agentRaw(PI, { rootDir: piRoot, system: 'Raspbian', temperature: { sysfsRoot: piRoot, sources: ['thermal'] } });
  services.push(await startAgent(loadConfig({ raw: { agent: pi }, sections: ['agent'], env: {} }).agent!, silentLogger));

  boxThermal = path.join(tmp, 'box-thermal');
  cpSync(hostTree('hot-85c'), boxThermal, { recursive: true, verbatimSymlinks: true });
  const boxConfig = path.join(tmp, 'box.json');
  writeFileSync(boxConfig, JSON.stringify({ agent: agentRaw(BOX, { temperature: { sysfsRoot: boxThermal, sources: ['thermal'] } }), log: { level: 'info' } }));
  box = machmonProgram({ command: 'agent', name: BOX, configFile: boxConfig });
  await box.start('connected to broker');
}, 90_000);

afterAll(async () => {
  box?.killNow();
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

/** Object ids each host must show (the groups its agent reads). */
const EXPECTED: Record<string, string[]> = {
  [PI]: ['under_voltage', 'throttled', 'frequency_capped', 'soft_temperature_limit', 'arm_clock', 'memory_used', 'swap_used', 'outbox_backlog', 'oldest_unconfirmed', 'temperature_thermal_zone0_cpu_thermal'],
  [BOX]: ['cpu_use', 'load_1', 'load_5', 'load_15', 'boot_time', 'memory_used', 'swap_used', 'processes', 'latency', 'outbox_backlog', 'oldest_unconfirmed', 'temperature_thermal_zone0_cpu_thermal'],
};

describe('Home Assistant discovery on a real pipeline', () => {
  it('publishes every entity of both hosts as a retained config Home Assistant accepts, and retained states', async () => {
    let view = new Map<string, Got>();
    await waitFor('every expected config and its state', async () => {
      view = await retained(brokerUrl);
      return Object.entries(EXPECTED).every(([host, ids]) => {
        const have = new Set(configsOf(view, host).map((g) => objectIdOf(g.topic)));
        return ids.every((id) => have.has(id)) && configsOf(view, host).every((g) => view.has((JSON.parse(g.payload) as { state_topic: string }).state_topic));
      });
    }, DEADLINE_MS, 500);
    // (retained(): only what a new subscriber gets from the broker's retained store.)

    for (const host of [PI, BOX]) {
      const configs = configsOf(view, host);
      const devices = new Set<string>();
      for (const g of configs) {
        const parsed = parseDiscoveryTopic(PREFIX, g.topic);
        expect(parsed, g.topic).toBeDefined();
        expect(parsed!.nodeId).toBe(`machmon_${host}`);
        const config = JSON.parse(g.payload) as Record<string, unknown>;
        expect(configProblems(parsed!.component, config), g.topic).toEqual([]);
        expect(config.unique_id).toBe(`machmon_${host}_${parsed!.objectId}`);
        expect(config.state_topic).toBe(`${STATE}/${host}/state`);
        expect(config.availability).toEqual([{ topic: `${STATE}/status` }, { topic: `${STATE}/${host}/status` }, { topic: `${STATE}/${host}/${groupOf(config)}/availability` }]);
        devices.add(JSON.stringify(config.device));
        // What Home Assistant makes of the current state.
        const rendered = renderValueTemplate(config.value_template as string, view.get(config.state_topic as string)!.payload);
        const problem = parsed!.component === 'binary_sensor' ? binaryStateProblem(config, rendered) : sensorStateProblem(config, rendered);
        expect(problem, `${g.topic}: ${rendered}`).toBeUndefined();
      }
      // One device per host, the same block in every config.
      expect(devices.size, host).toBe(1);
    }
    const piDevice = JSON.parse(configsOf(view, PI)[0]!.payload).device as Record<string, unknown>;
    expect(piDevice).toMatchObject({ identifiers: [`machmon_${PI}`], name: PI, manufacturer: 'Raspberry Pi Ltd', model: 'Raspberry Pi 4 Model B Rev 1.2', sw_version: 'Machmon agent 0.1.0', configuration_url: `http://grafana.lan:3000/d/machmon-host?var-hostname=${PI}` });
    expect(JSON.parse(configsOf(view, BOX)[0]!.payload).device).toMatchObject({ identifiers: [`machmon_${BOX}`], name: BOX });
    for (const host of [PI, BOX]) expect(view.get(`${STATE}/${host}/status`)?.payload).toBe('online');
    expect(view.get(`${STATE}/status`)?.payload).toBe('online');
  }, DEADLINE_MS + 15_000);

  it('the value template on the state JSON gives the value InfluxDB stored for the same reading', async () => {
    const view = await retained(brokerUrl);
    let compared = 0;
    for (const host of [PI, BOX]) {
      for (const g of configsOf(view, host)) {
        const config = JSON.parse(g.payload) as Record<string, unknown>;
        const state = view.get(config.state_topic as string)!.payload;
        const rendered = renderValueTemplate(config.value_template as string, state);
        const { def, rowKey } = defOf(config, objectIdOf(g.topic));
        const sampleTimeMs = Date.parse((JSON.parse(state) as { sample_times: Record<string, string> }).sample_times[def.group]!);
        const row = await waitFor(`${host} ${def.group} at ${sampleTimeMs} in InfluxDB`, () => storedRow(host, def.group, sampleTimeMs, rowKey), DEADLINE_MS, 200);
        if (def.key === 'boot_time') {
          // InfluxDB keeps the Pi's local time; Home Assistant gets it as UTC.
          expect(rendered).not.toBe('None');
          expect(formatLocalDateTime(new Date(rendered)), g.topic).toBe(row.bootTime);
        } else {
          const fromInflux = def.value(row, { sampleTimeMs } as Header);
          const what = `${g.topic}: rendered ${rendered}, stored ${JSON.stringify(row)}`;
          if (fromInflux === null) expect(rendered, what).toBe('None');
          else if (typeof fromInflux === 'number') expect(Number(rendered), what).toBe(fromInflux);
          else expect(rendered, what).toBe(fromInflux);
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(EXPECTED[PI]!.length + EXPECTED[BOX]!.length);
  }, 2 * DEADLINE_MS);

  it("sends discovery again after Home Assistant's birth message", async () => {
    const ha = await homeAssistant(brokerUrl);
    const known = configsOf(await retained(brokerUrl), PI).length + configsOf(await retained(brokerUrl), BOX).length;
    await sleep(500);
    const before = ha.got.filter((g) => g.topic.startsWith(`${PREFIX}/`) && !g.retain).length;
    await ha.client.publishAsync(`${PREFIX}/status`, 'online', { qos: 1 });
    await waitFor('every config again, live', () => ha.got.filter((g) => g.topic.startsWith(`${PREFIX}/`) && !g.retain).length - before >= known, 10_000, 50);
    await ha.client.endAsync();
  }, 20_000);

  it('a sensor that can no longer be read makes its group unavailable, never 0, and leaves the others available', async () => {
    const availability = `${STATE}/${BOX}/temperature/availability`;
    expect((await retained(brokerUrl, [availability])).get(availability)?.payload).toBe('online');
    rmSync(path.join(boxThermal, 'sys/class/thermal/thermal_zone0/temp'));
    await waitFor('the temperature group unavailable', async () => (await retained(brokerUrl, [availability])).get(availability)?.payload === 'offline', DEADLINE_MS, 500);
    const view = await retained(brokerUrl);
    const temperature = JSON.parse(view.get(`${STATE}/${BOX}/state`)!.payload) as Record<string, unknown>;
    expect(temperature.temperature_thermal_zone0_cpu_thermal).toBe(85);
    expect(view.get(`${STATE}/${BOX}/cpu/availability`)?.payload).toBe('online');
    expect(view.get(`${STATE}/${BOX}/mem/availability`)?.payload).toBe('online');
  }, DEADLINE_MS + 10_000);

  it('an agent killed makes its host unavailable', async () => {
    await box!.signal('SIGKILL');
    await waitFor(`${BOX} offline`, async () => (await retained(brokerUrl, [`${STATE}/${BOX}/status`])).get(`${STATE}/${BOX}/status`)?.payload === 'offline', DEADLINE_MS, 300);
    expect((await retained(brokerUrl, [`${STATE}/${PI}/status`])).get(`${STATE}/${PI}/status`)?.payload).toBe('online');
  }, DEADLINE_MS + 5_000);

  it('machmon forget removes the host: status, every config, states and availability', async () => {
    expect(configsOf(await retained(brokerUrl), BOX).length).toBeGreaterThan(0);
    const [result] = await forgetHosts(ingestorCfg, [BOX]);
    expect(result!.cleared).toContain(`machmon/${BOX}/status`);
    await waitFor('the bridge forgot the host', () => !ingestor.homeAssistant!.hosts().includes(BOX), 5000, 50);
    const view = await retained(brokerUrl);
    expect(configsOf(view, BOX)).toEqual([]);
    expect([...view.keys()].filter((t) => t.startsWith(`${STATE}/${BOX}/`))).toEqual([]);
    expect(configsOf(view, PI).length).toBeGreaterThanOrEqual(EXPECTED[PI]!.length);
    const reader = await mqtt.connectAsync(brokerUrl, { username: 'ingestor', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    const statuses: string[] = [];
    reader.on('message', (topic) => statuses.push(topic));
    await reader.subscribeAsync('machmon/+/status', { qos: 1 });
    await sleep(500);
    await reader.endAsync();
    expect(statuses).toEqual([`machmon/${PI}/status`]);
  }, DEADLINE_MS);
});

describe('the Home Assistant login', () => {
  it('logs in with its own password only', async () => {
    expect(await refusalCode(brokerUrl, 'homeassistant', READER_PASSWORD)).toBe(5);
    expect(await refusalCode(brokerUrl, 'homeassistant', PASSWORD)).toBe(5);
    expect(await refusalCode(brokerUrl, 'homeassistant', 'wrong')).toBe(4);
    expect(await refusalCode(brokerUrl, 'ingestor', HA_PASSWORD)).toBe(5);
    expect(await refusalCode(brokerUrl, PI, HA_PASSWORD)).toBe(5);
    expect(await refusalCode(brokerUrl, 'homeassistant', HA_PASSWORD)).toBe(0);
  });

  it('may read discovery and states, and nothing of the fleet (SUBACK 128)', async () => {
    const { client } = await homeAssistant(brokerUrl, []);
    expect(await subackCodes(client, [`${PREFIX}/#`, `${STATE}/#`])).toEqual([1, 1]);
    for (const filter of ['machmon/#', `machmon/${PI}/status`, `machmon/${PI}/confirm/stored`, 'machmon/+/cpu', '#', '+/#', '$SYS/#']) {
      expect(await subackCodes(client, filter), filter).toEqual([128]);
    }
    await client.endAsync();
  });

  it('may publish its birth message, and is cut off for a reading, a confirmation or a forged state', async () => {
    const reader = await mqtt.connectAsync(brokerUrl, { username: 'ingestor', password: READER_PASSWORD, clientId: 'ha-test-watch', protocolVersion: 4, reconnectPeriod: 0 });
    const forged: string[] = [];
    reader.on('message', (topic, payload) => {
      if (payload.toString().includes('forged-by-ha') || payload.toString().includes('[[424242,424243]]')) forged.push(topic);
    });
    await reader.subscribeAsync([`machmon/${PI}/#`, `${STATE}/${PI}/forged`, `${PREFIX}/sensor/forged/x/config`], { qos: 1 });
    const ok = await homeAssistant(brokerUrl, []);
    await ok.client.publishAsync(`${PREFIX}/status`, 'offline', { qos: 1 });
    expect(ok.client.connected).toBe(true);
    await ok.client.endAsync();
    for (const topic of [`machmon/${PI}/cpu`, `machmon/${PI}/confirm/stored`, `machmon/${PI}/status`, `${STATE}/${PI}/forged`, `${PREFIX}/sensor/forged/x/config`]) {
      const { client } = await homeAssistant(brokerUrl, []);
      const closed = closeOf(client);
      client.publish(topic, topic.endsWith('stored') ? '{"ranges":[[424242,424243]]}' : 'forged-by-ha', { qos: 1 });
      await closed;
      client.end(true);
    }
    await sleep(300);
    await reader.endAsync();
    expect(forged).toEqual([]);
  }, 20_000);
});

describe('readers and the retained status', () => {
  it('a reader may not write a status (deleting one is all machmon forget needs, tested above)', async () => {
    const c = (await mqtt.connectAsync(brokerUrl, { username: 'ingestor', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 })) as MqttClient;
    const closed = closeOf(c);
    c.publish(`machmon/${PI}/status`, 'offline', { qos: 1, retain: true });
    await closed;
    c.end(true);
  });
});

describe('an ingestor started again', () => {
  // Last in this file: a second bridge on the same prefixes (its stop says "offline" for the bridge).
  it('takes over a group left "online" by the previous run, and makes it unavailable when no reading comes', async () => {
    const { startHomeAssistantBridge } = await import('../../../ingestor/home-assistant/bridge.js');
    const topic = `${STATE}/ha-ghost/cpu/availability`;
    const reader = await mqtt.connectAsync(brokerUrl, { username: 'ingestor', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    await reader.publishAsync(topic, 'online', { qos: 1, retain: true });
    await reader.endAsync();
    let offsetMs = 0;
    const bridge = startHomeAssistantBridge(ingestorCfg.homeAssistant!, { brokerUrl, username: 'ingestor', password: READER_PASSWORD, clientId: 'ha-test-second-bridge' }, '0.1.0', silentLogger, () => Date.now() + offsetMs);
    try {
      await bridge.ready;
      await waitFor('the retained availability taken over', () => bridge.hosts().includes('ha-ghost'), 5000, 20);
      await sleep(1500);
      expect((await retained(brokerUrl, [topic])).get(topic)?.payload).toBe('online');
      // Three unknown intervals (60 s each) later, with no reading of the group:
      offsetMs = 3 * 60_000 + 3000;
      await waitFor('the group unavailable', async () => (await retained(brokerUrl, [topic])).get(topic)?.payload === 'offline', 5000, 200);
    } finally {
      await bridge.stop();
    }
    // `machmon forget` as users run it (the compiled dist/) removes what is left of the host.
    const file = path.join(dirs[0]!, 'server.json');
    writeFileSync(file, JSON.stringify({ ingestor: { brokerUrl, password: READER_PASSWORD } }));
    const r = await runCli(['forget', '--config', file, 'ha-ghost']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(topic);
    expect((await retained(brokerUrl, [topic])).has(topic)).toBe(false);
    const none = await runCli(['forget', '--config', file]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name the hosts');
  }, 40_000);
});
