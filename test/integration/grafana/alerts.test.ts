// Every alert rule of grafana/provisioning/alerting/machmon.yaml, evaluated the way Grafana
// evaluates it (testkit/alert-eval.ts: its InfluxQL over the relative time range, reduce per
// series, threshold or math, a state per instance) against the shared influxd of the test
// harness, filled by a real broker, ingestor and agents. Each rule must fire for a host made to
// break it and stay Normal for a healthy one:
// - offline: a real `machmon agent` process killed with SIGKILL (the broker publishes its Last Will);
// - temperature: an agent reading the fixture tree hot-85c (thermal zone at 85 °C);
// - under-voltage and throttled: an agent on the fixture tree under-voltage (get_throttled 0x50005);
// - silent host, full partition, stuck outbox: readings published by an MQTT client as an agent
//   would (protobuf, QoS 1, its own hostname as login): readings whose newest sample is 4 minutes
//   old, a Partitions reading with / at 95 %, an AgentHealth reading whose oldest unconfirmed
//   reading is 7 minutes old. Minutes of real silence, a filesystem really 95 % full (statfs
//   reads the real disk) or an outbox really held 5 minutes cannot be made otherwise in a test;
// - ingestor rejecting: a payload that is not protobuf; InfluxDB refusing: a field written
//   once as a string before the agents write it as a number (a field type conflict).
// The rules' `for` durations (pending before firing) are Grafana's state over successive
// evaluations and are not waited for here; test/unit/grafana/alerts.test.ts checks them.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';
import { encodeMetric, type MetricName, type MetricMessages } from '../../../common/schema.js';
import { metricTopic } from '../../../common/topics.js';
import type { Service } from '../../../common/service.js';
import { alertRules, evaluateRule, stateOf, type Evaluation } from '../../../testkit/alert-eval.js';
import { field } from '../../../grafana/measurements.js';
import { hostTree } from '../../../testkit/fixtures.js';
import { influxRows } from '../../../testkit/influxd.js';
import { freePort } from '../../../testkit/ports.js';
import { machmonProgram, type Program } from '../../../testkit/processes.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const db = `t_alerts_${randomBytes(4).toString('hex')}`;
const PASSWORD = 'alerts-test-fleet-password';
const READER_PASSWORD = 'alerts-test-reader-password';
/** Reads this machine, its temperature from hot-85c. */
const HOT = 'al-hot';
/** A healthy Raspberry Pi: the pi4 tree (get_throttled 0, 62.3 °C). */
const PI_OK = 'al-pi-ok';
/** The under-voltage tree. */
const UNDERVOLT = 'al-undervolt';
/** A `machmon agent` process, killed. */
const DEAD = 'al-dead';
/** Readings published by a test client (see the header). */
const SILENT = 'al-silent';
const DISK = 'al-disk';
const STUCK = 'al-stuck';
const BAD = 'al-bad';
const INGESTOR_HOST = os.hostname();
const rules = new Map(alertRules().map((r) => [r.uid, r]));
const DEADLINE_MS = 60_000;

function rule(uid: string) {
  const r = rules.get(uid);
  if (!r) throw new Error(`no alert rule ${uid} in grafana/provisioning/alerting/machmon.yaml`);
  return r;
}

/** Evaluates `uid` until `host` (with `labels`) is Alerting; returns that evaluation. */
async function firing(uid: string, host: string, labels: Record<string, string> = {}): Promise<Evaluation> {
  let last: Evaluation | undefined;
  try {
    return await waitFor(`${uid} firing for ${host}`, async () => {
      last = await evaluateRule(rule(uid), influxUrl, db);
      return stateOf(last, host, labels) === 'Alerting' ? last : undefined;
    }, DEADLINE_MS, 500);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last evaluation: ${JSON.stringify(last)}`);
  }
}

let seq = 1;
/** Publishes readings of `host` as its agent would (QoS 1, logged in as the host). */
async function publishAs<M extends MetricName>(brokerUrl: string, host: string, metric: M, readings: { sampleTimeMs: number; body: Omit<MetricMessages[M], 'header'> }[]): Promise<void> {
  const client = await mqtt.connectAsync(brokerUrl, { username: host, password: PASSWORD, clientId: host, protocolVersion: 4, reconnectPeriod: 0 });
  try {
    for (const r of readings) {
      const message = { header: { hostname: host, system: 'Raspbian', sampleTimeMs: r.sampleTimeMs, seq: seq++, agentVersion: '0.1.0' }, ...r.body } as MetricMessages[M];
      await client.publishAsync(metricTopic(host, metric), Buffer.from(encodeMetric(metric, message)), { qos: 1 });
    }
  } finally {
    await client.endAsync();
  }
}

const services: Service[] = [];
const dirs: string[] = [];
let dead: Program | undefined;
let brokerUrl = '';
/** Evaluations of the ingestor rules before anything was rejected or refused. */
const before = new Map<string, Evaluation>();

beforeAll(async () => {
  const { startBroker } = await import('../../../broker/server.js');
  const { startIngestor } = await import('../../../ingestor/ingestor.js');
  const { startAgent } = await import('../../../agent/runtime/agent.js');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'machmon-alerts-'));
  dirs.push(tmp);
  const port = await freePort();
  brokerUrl = `mqtt://127.0.0.1:${port}`;
  const agentRaw = (hostname: string, extra: Record<string, unknown>) => ({
    brokerUrl,
    hostname,
    password: PASSWORD,
    intervalMs: 1000,
    metrics: { process: { enabled: false }, logs: { enabled: false }, latency: { enabled: false } },
    dataDir: path.join(tmp, `agent-${hostname}`),
    ...extra,
  });
  const server = loadConfig({
    raw: {
      broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['al-*'], readers: ['ingestor'], dataDir: path.join(tmp, 'broker') },
      ingestor: { brokerUrl, password: READER_PASSWORD, influx: { url: influxUrl, database: db }, flushIntervalMs: 200, statsIntervalMs: 1000, dataDir: path.join(tmp, 'ingestor') },
    },
    sections: ['broker', 'ingestor'],
    env: {},
  });
  services.push(await startBroker(server.broker!, silentLogger));
  services.push(await startIngestor(server.ingestor!, silentLogger));

  // The ingestor counts between its self-metrics points (the rules read their increase): wait
  // for two, and evaluate the ingestor rules while nothing has been rejected or refused yet.
  await waitFor('two MachmonIngestor points', async () => (await influxRows(influxUrl, db, `SELECT "received" FROM "MachmonIngestor" WHERE "reason" = ''`).catch(() => [])).length >= 2, 30_000, 200);
  for (const uid of ['machmon-ingestor-rejecting', 'machmon-influxdb-refusing']) before.set(uid, await evaluateRule(rule(uid), influxUrl, db));
  // A field type conflict: SystemAdditionalInfo's load1 once written as a string (as an older
  // writer might have), so every agent's float load1 is refused by InfluxDB from now on.
  const load1 = field('systemAdditionalInfo', 'load1');
  const conflict = await fetch(`${influxUrl}/write?db=${db}`, { method: 'POST', body: `${load1.measurement},hostname=al-conflict ${load1.name}="not a number"` });
  expect(conflict.status).toBe(204);

  const piRoot = path.join(tmp, 'pi-root');
  cpSync(hostTree('pi4'), piRoot, { recursive: true });
  const agents = [
    agentRaw(HOT, { temperature: { sysfsRoot: hostTree('hot-85c'), sources: ['thermal'] } }),
    agentRaw(PI_OK, { rootDir: piRoot, system: 'Raspbian', temperature: { sysfsRoot: piRoot, sources: ['thermal'] } }),
    agentRaw(UNDERVOLT, { rootDir: hostTree('under-voltage'), system: 'Raspbian', temperature: { sources: ['mock'] } }),
  ];
  for (const agent of agents) services.push(await startAgent(loadConfig({ raw: { agent }, sections: ['agent'], env: {} }).agent!, silentLogger));

  const deadConfig = path.join(tmp, 'dead.json');
  writeFileSync(deadConfig, JSON.stringify({ agent: agentRaw(DEAD, { temperature: { sources: ['mock'] } }), log: { level: 'info' } }));
  dead = machmonProgram({ command: 'agent', name: DEAD, configFile: deadConfig });
  await dead.start('connected to broker');
}, 90_000);

afterAll(async () => {
  dead?.killNow();
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('alert rules on a real pipeline', () => {
  it('Host offline: fires for a killed agent, not for running ones', async () => {
    await waitFor(`${DEAD} online`, async () => (await influxRows(influxUrl, db, `SELECT last("online") FROM "Status" WHERE "hostname" = '${DEAD}'`).catch(() => []))[0]?.last === 1, DEADLINE_MS, 200);
    await dead!.signal('SIGKILL');
    const e = await firing('machmon-host-offline', DEAD);
    for (const h of [HOT, PI_OK, UNDERVOLT]) expect(stateOf(e, h), h).toBe('Normal');
  }, 2 * DEADLINE_MS);

  it('Host sends no readings: fires for a host whose newest reading is 4 minutes old, not for live agents', async () => {
    const now = Date.now();
    const readings = Array.from({ length: 36 }, (_, i) => ({ sampleTimeMs: now - 10 * 60_000 + i * 10_000, body: { cpusTotal: 4, cpusOnline: 4 } }));
    expect(now - readings.at(-1)!.sampleTimeMs).toBeGreaterThan(4 * 60_000 - 1);
    await publishAs(brokerUrl, SILENT, 'cpusNumber', readings);
    const e = await firing('machmon-host-silent', SILENT);
    // The Pi trees have no /sys/devices/system/cpu, so only the agent reading this machine sends CpusNumber.
    expect(stateOf(e, HOT)).toBe('Normal');
  }, DEADLINE_MS + 10_000);

  it('Temperature high: fires for the 85 °C sensor, not for the Pi at 62 °C', async () => {
    const e = await firing('machmon-temperature-high', HOT, { sensor: 'thermal_zone0:cpu-thermal' });
    expect(e.instances.find((i) => i.labels.hostname === HOT)!.values.B).toBe(85);
    await waitFor(`${PI_OK} temperature`, async () => stateOf(await evaluateRule(rule('machmon-temperature-high'), influxUrl, db), PI_OK) === 'Normal', DEADLINE_MS, 500);
    // The mock sensor of the other agents is no temperature to alert on.
    expect(stateOf(await evaluateRule(rule('machmon-temperature-high'), influxUrl, db), UNDERVOLT)).toBeUndefined();
  }, 2 * DEADLINE_MS);

  it.each(['machmon-pi-under-voltage', 'machmon-pi-throttled'])('%s: fires for get_throttled 0x50005, not for the healthy Pi', async (uid) => {
    await firing(uid, UNDERVOLT);
    await waitFor(`${uid} Normal for ${PI_OK}`, async () => stateOf(await evaluateRule(rule(uid), influxUrl, db), PI_OK) === 'Normal', DEADLINE_MS, 500);
  }, 2 * DEADLINE_MS);

  it('Partition almost full: fires for / at 95 %, not for /boot/firmware at 21 % of the same host', async () => {
    const row = (mountPoint: string, totalKb: number, usedKb: number) => ({ device: '/dev/mmcblk0p2', fsType: 'ext4', totalKb, usedKb, freeKb: totalKb - usedKb, usagePercent: Math.ceil((usedKb / totalKb) * 100), mountPoint });
    await publishAs(brokerUrl, DISK, 'partitions', [{ sampleTimeMs: Date.now(), body: { rows: [row('/', 30_358_348, 28_840_430), row('/boot/firmware', 522_232, 109_669)] } }]);
    const e = await firing('machmon-partition-full', DISK, { mount: '/' });
    expect(stateOf(e, DISK, { mount: '/boot/firmware' })).toBe('Normal');
  }, DEADLINE_MS + 10_000);

  it('Readings not getting through: fires for an oldest unconfirmed reading of 7 minutes, not for agents whose readings are confirmed', async () => {
    await publishAs(brokerUrl, STUCK, 'agentHealth', [{ sampleTimeMs: Date.now(), body: { outboxMessages: 4200, outboxBytes: 1_300_000, oldestUnconfirmedAgeMs: 7 * 60_000, droppedTotal: 0, resentTotal: 120, collectorFailuresTotal: 0 } }]);
    const e = await firing('machmon-outbox-stuck', STUCK);
    for (const h of [HOT, PI_OK, UNDERVOLT]) expect(stateOf(e, h), h).toBe('Normal');
  }, DEADLINE_MS + 10_000);

  it('Ingestor rejecting messages: Normal before, fires after a payload that is not protobuf', async () => {
    expect(stateOf(before.get('machmon-ingestor-rejecting')!, INGESTOR_HOST)).toBe('Normal');
    const bad = await mqtt.connectAsync(brokerUrl, { username: BAD, password: PASSWORD, clientId: BAD, protocolVersion: 4, reconnectPeriod: 0 });
    await bad.publishAsync(`machmon/${BAD}/cpu`, Buffer.from('this is not protobuf'), { qos: 1 });
    await bad.endAsync();
    const e = await firing('machmon-ingestor-rejecting', INGESTOR_HOST);
    expect(e.instances[0]!.values.B).toBeGreaterThanOrEqual(1);
  }, DEADLINE_MS + 10_000);

  it('InfluxDB refusing points: Normal before, fires once a field type conflict makes InfluxDB refuse points', async () => {
    expect(stateOf(before.get('machmon-influxdb-refusing')!, INGESTOR_HOST)).toBe('Normal');
    await firing('machmon-influxdb-refusing', INGESTOR_HOST);
  }, DEADLINE_MS + 10_000);

  it('covers every rule of the provisioning file', () => {
    const tested = ['machmon-host-offline', 'machmon-host-silent', 'machmon-temperature-high', 'machmon-pi-under-voltage', 'machmon-pi-throttled', 'machmon-partition-full', 'machmon-outbox-stuck', 'machmon-ingestor-rejecting', 'machmon-influxdb-refusing'];
    expect([...rules.keys()].sort()).toEqual(tested.sort());
  });
});
