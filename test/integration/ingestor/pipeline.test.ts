// The whole ingestor into the shared real influxd, fed through a real Aedes broker by real
// MQTT.js publishers: every measurement and field with its schema type, multi-row groups,
// idempotent re-sends, bad payloads among good ones, a field type conflict, the
// end-to-end confirmation, status messages and the self-metrics.
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { decodeConfirm } from '../../../common/confirm.js';
import { silentLogger } from '../../../common/log.js';
import { METRICS, METRIC_NAMES, type MetricName, type MetricSpec } from '../../../common/schema.js';
import { confirmTopic, metricTopic, statusTopic } from '../../../common/topics.js';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { influxQuery, influxRows } from '../../../testkit/influxd.js';
import { connectClient, endClient, header, publishRaw, publishReading, randomDb } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { ingestorConfig } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const ROWS = 3;

/** A value for every field of a spec, valid for its unit; `k` varies the natural row keys. */
function fullObject(spec: MetricSpec, k: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of spec.fields) {
    if (f.kind === 'string') o[f.name] = f.tag ? `${f.tag}-${k}` : `text "${f.name}" ${k}`;
    else if (f.kind === 'int') o[f.name] = f.unit === 'flag' ? 1 : f.unit === 'nice' ? -3 : 7 + k;
    // An integral float on purpose: it must still be stored as a float.
    else o[f.name] = f.unit === 'celsius' ? 21 : 3;
  }
  return o;
}

function fullMessage(name: MetricName, host: string, timeMs: number, seq: number): Record<string, unknown> {
  const spec = METRICS.get(name)!;
  const h = header(host, timeMs, seq);
  if (spec.multiRow) return { header: h, rows: Array.from({ length: ROWS }, (_, k) => fullObject(spec, k)) };
  return { header: h, ...fullObject(spec, 0) };
}

const INFLUX_TYPE = { int: 'integer', float: 'float', string: 'string' } as const;

let broker: PlainBroker;
let ingestor: Ingestor | undefined;
const clients: MqttClient[] = [];

async function setUp(db: string, extra: Record<string, unknown> = {}) {
  broker = await startPlainBroker();
  ingestor = await startIngestor(ingestorConfig(broker.url, influxUrl, db, extra), silentLogger);
  await ingestor.subscribed;
  await waitFor('database and retention policy created', async () => JSON.stringify(await influxQuery(influxUrl, db, `SHOW RETENTION POLICIES ON "${db}"`)).includes('Monthly'));
}

async function agent(host: string): Promise<MqttClient> {
  const c = await connectClient(broker.url, { clientId: host });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await endClient(c, true);
  await ingestor?.stop();
  ingestor = undefined;
  await broker.close();
});

describe('ingestor pipeline into influxd', () => {
  let db: string;
  beforeEach(async () => {
    db = randomDb('pipeline');
    await setUp(db);
  });

  it('creates the database with the Monthly retention policy (4 weeks, default)', async () => {
    const rows = await influxRows(influxUrl, db, `SHOW RETENTION POLICIES ON "${db}"`);
    expect(rows.find((r) => r.name === 'Monthly')).toMatchObject({ duration: '672h0m0s', default: true });
  });

  it('stores every field of every measurement with its schema type; N rows sent are N rows stored; re-sending overwrites', async () => {
    const pi = await agent('pi-full');
    const t = Date.now() - 60_000;
    let seq = 0;
    for (const name of METRIC_NAMES) await publishReading(pi, 'pi-full', name, fullMessage(name, 'pi-full', t, ++seq) as never);
    await waitFor('every reading written', () => ingestor!.stats.writtenMessages === METRIC_NAMES.length);

    for (const name of METRIC_NAMES) {
      const spec = METRICS.get(name)!;
      const fieldKeys = await influxRows(influxUrl, db, `SHOW FIELD KEYS FROM "${spec.measurement}"`);
      const stored = Object.fromEntries(fieldKeys.map((r) => [r.fieldKey, r.fieldType]));
      const expected = Object.fromEntries(spec.fields.filter((f) => f.influx).map((f) => [f.influx, INFLUX_TYPE[f.kind]]));
      expect(stored, spec.measurement).toEqual(expected);
      const rows = await influxRows(influxUrl, db, `SELECT * FROM "${spec.measurement}" WHERE hostname = 'pi-full'`);
      expect(rows, spec.measurement).toHaveLength(spec.multiRow ? ROWS : 1);
      expect(rows[0]!.system).toBe('Raspbian');
      expect(rows[0]!.time).toBe(t);
    }
    const latency = await influxRows(influxUrl, db, `SELECT clientServer FROM "Latency" WHERE hostname = 'pi-full'`);
    expect(latency[0]!.clientServer).toBeGreaterThanOrEqual(60_000);

    // The same readings again (a re-delivery, an outbox replay): nothing new is added.
    const before = ingestor!.stats.writtenMessages;
    for (const name of METRIC_NAMES) await publishReading(pi, 'pi-full', name, fullMessage(name, 'pi-full', t, 1) as never);
    await waitFor('re-sent readings written', () => ingestor!.stats.writtenMessages === before + METRIC_NAMES.length);
    for (const name of METRIC_NAMES) {
      const spec = METRICS.get(name)!;
      const rows = await influxRows(influxUrl, db, `SELECT * FROM "${spec.measurement}" WHERE hostname = 'pi-full'`);
      expect(rows, spec.measurement).toHaveLength(spec.multiRow ? ROWS : 1);
    }
  });

  it('stores tricky strings exactly as sent, and tag values as close as 1.x allows', async () => {
    const pi = await agent('pi-strings');
    const mount = '/media/My Disk,1=x "q" \\';
    const message = 'quote " backslash \\ comma, equals= newline\nend ☃';
    const t = Date.now() - 1000;
    await publishReading(pi, 'pi-strings', 'partitions', { header: header('pi-strings', t), rows: [{ device: '/dev/sda1', mountPoint: mount, totalKb: 1 }] });
    await publishReading(pi, 'pi-strings', 'logs', { header: header('pi-strings', t, 2), rows: [{ message }] });
    await waitFor('both written', () => ingestor!.stats.writtenMessages === 2);
    const parts = await influxRows(influxUrl, db, `SELECT * FROM "Partitions" WHERE hostname = 'pi-strings'`);
    expect(parts).toHaveLength(1);
    // The field keeps the value exactly; the tag has its trailing backslash as U+2216 (see line-protocol.ts).
    expect(parts[0]).toMatchObject({ mount: `${mount.slice(0, -1)}\u2216`, mountPoint: mount });
    const logs = await influxRows(influxUrl, db, `SELECT message FROM "Logs" WHERE hostname = 'pi-strings'`);
    expect(logs[0]!.message).toBe(message);
  });

  it('rejects bad payloads by reason, stores none of them, and keeps storing good data of another host', async () => {
    const bad = await agent('pi-bad');
    const good = await agent('pi-good');
    const t = Date.now() - 5000;
    const cpu = Buffer.from((await import('../../../common/schema.js')).encodeMetric('cpu', { header: header('pi-bad', t), userPercent: 5 }));
    const sends: [string, Buffer | string][] = [
      [metricTopic('pi-bad', 'mem'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
      [metricTopic('pi-bad', 'cpu'), cpu.subarray(0, cpu.length - 3)],
      [metricTopic('pi-bad', 'cpu'), Buffer.alloc(0)],
      ['machmon/pi-bad/gpu', cpu],
      [metricTopic('pi-bad', 'cpu'), Buffer.from((await import('../../../common/schema.js')).encodeMetric('cpu', { header: header('pi-other', t), userPercent: 5 }))],
      [metricTopic('pi-bad', 'cpu'), Buffer.from((await import('../../../common/schema.js')).encodeMetric('cpu', { header: header('pi-bad', t), userPercent: 140 }))],
      [metricTopic('pi-bad', 'temperature'), Buffer.from((await import('../../../common/schema.js')).encodeMetric('temperature', { header: header('pi-bad', t), rows: [{ sensor: 'x', degreesCelsius: NaN }] }))],
      [statusTopic('pi-bad'), 'sleeping'],
    ];
    let i = 0;
    for (const [topic, payload] of sends) {
      await publishRaw(bad, topic, payload);
      await publishReading(good, 'pi-good', 'cpu', { header: header('pi-good', t + i, ++i), userPercent: i });
    }
    await waitFor('good readings written', () => ingestor!.stats.writtenMessages === sends.length);
    await waitFor('everything acknowledged', () => ingestor!.stats.acked === 2 * sends.length);
    expect(Object.fromEntries(ingestor!.stats.rejected)).toEqual({
      undecodable: 2,
      empty_payload: 1,
      unknown_metric: 1,
      hostname_mismatch: 1,
      out_of_range: 1,
      not_finite: 1,
      bad_status: 1,
    });
    for (const m of ['Cpu', 'Mem', 'Temperature', 'Status']) {
      expect(await influxRows(influxUrl, db, `SELECT * FROM "${m}" WHERE hostname = 'pi-bad' OR hostname = 'pi-other'`), m).toEqual([]);
    }
    expect(await influxRows(influxUrl, db, `SELECT * FROM "Cpu" WHERE hostname = 'pi-good'`)).toHaveLength(sends.length);
  });

  it('confirms stored and rejected seqs on the host\'s own topic', async () => {
    const pi = await agent('pi-confirm');
    const confirmed = new Set<number>();
    let payloads = 0;
    await new Promise<void>((r) => pi.subscribe(confirmTopic('pi-confirm'), { qos: 1 }, () => r()));
    pi.on('message', (_topic, payload) => {
      payloads++;
      for (const [a, b] of decodeConfirm(payload)) for (let s = a; s <= b; s++) confirmed.add(s);
    });
    const t = Date.now() - 1000;
    for (let seq = 1; seq <= 5; seq++) await publishReading(pi, 'pi-confirm', 'cpu', { header: header('pi-confirm', t + seq, seq), userPercent: seq === 3 ? 300 : 1 });
    await waitFor('confirmation of 1..5', () => confirmed.size === 5);
    expect([...confirmed].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(payloads).toBeLessThanOrEqual(5);
    expect(ingestor!.stats.rejected.get('out_of_range')).toBe(1);
  });

  it('stores status messages, retained ones marked', async () => {
    const pi = await agent('pi-status');
    await publishRaw(pi, statusTopic('pi-status'), 'online', true);
    await waitFor('status written', () => ingestor!.stats.writtenMessages === 1);
    const rows = await influxRows(influxUrl, db, `SELECT * FROM "Status" WHERE hostname = 'pi-status'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ online: 1, status: 'online', retained: 0 });
  });
});

describe('ingestor against a field type conflict', () => {
  it('counts the refused point, acknowledges its message and goes on', async () => {
    const db = randomDb('conflict');
    await setUp(db);
    const t = Date.now() - 1000;
    // Same shard, the other type: InfluxDB 1.x refuses the float with HTTP 400 (partial write).
    const pre = await fetch(`${influxUrl}/write?db=${db}&rp=Monthly&precision=ms`, { method: 'POST', body: `Cpu,hostname=pi-old userPercentage="text" ${t - 10}` });
    expect(pre.status).toBe(204);
    const pi = await agent('pi-conflict');
    await publishReading(pi, 'pi-conflict', 'cpu', { header: header('pi-conflict', t, 1), userPercent: 5 });
    await publishReading(pi, 'pi-conflict', 'mem', { header: header('pi-conflict', t, 2), totalMemKb: 1000 });
    await waitFor('refusal counted', () => ingestor!.stats.influxRefusedPoints === 1);
    await waitFor('both acknowledged', () => ingestor!.stats.acked === 2);
    expect(await influxRows(influxUrl, db, `SELECT * FROM "Mem" WHERE hostname = 'pi-conflict'`)).toHaveLength(1);
    // The pipeline goes on.
    await publishReading(pi, 'pi-conflict', 'mem', { header: header('pi-conflict', t + 1, 3), totalMemKb: 2000 });
    await waitFor('next reading stored', async () => (await influxRows(influxUrl, db, `SELECT * FROM "Mem" WHERE hostname = 'pi-conflict'`)).length === 2);
  });
});

describe('ingestor self-metrics', () => {
  it('writes its counters as MachmonIngestor, rejections by reason', async () => {
    const db = randomDb('self');
    await setUp(db, { statsIntervalMs: 200 });
    const pi = await agent('pi-self');
    await publishRaw(pi, metricTopic('pi-self', 'cpu'), Buffer.alloc(0));
    await waitFor('rejection counted in InfluxDB', async () => (await influxRows(influxUrl, db, `SELECT last(rejected) FROM "MachmonIngestor" WHERE reason = 'empty_payload'`)).some((r) => r.last === 1));
    const summary = await influxRows(influxUrl, db, `SELECT last(received) AS received, last(pending) AS pending FROM "MachmonIngestor" WHERE reason = ''`);
    expect(summary[0]!.received).toBeGreaterThanOrEqual(1);
    await sleep(10);
  });
});
