// The ingestor's self-metrics (README "Self-metrics") on a real broker (machmon's, publishing
// its figures) and a private influxd that the test stops and starts: /metrics as promtool
// reads it, its counters moving as readings, bad payloads and wrong hostnames come in (the
// same counters MachmonIngestor holds), /readyz turning 503 while InfluxDB is away and 200
// once it is back, and the broker's figures stored as MachmonBroker.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { refusalCode, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD, ingestorConfig } from '../../../testkit/configs.js';
import { influxRows, startInfluxd, type Influxd } from '../../../testkit/influxd.js';
import { connectClient, endClient, header, publishRaw, publishReading } from '../../../testkit/ingestor.js';
import { captureLog } from '../../../testkit/log.js';
import { checkedScrape, sampleValue, valueOf as value, type Family } from '../../../testkit/prometheus.js';
import { waitFor } from '../../../testkit/wait.js';

let influxd: Influxd;
let tb: TestBroker;
let ingestor: Ingestor;
let pi: MqttClient;
let base: string;
const DB = 'metrics';

beforeAll(async () => {
  influxd = await startInfluxd();
  tb = await startTestBroker({ statsIntervalMs: 200 });
  const { log } = captureLog('info');
  ingestor = await startIngestor(ingestorConfig(tb.url, influxd.url, DB, { username: 'ingestor', password: READER_PASSWORD, metrics: { enabled: true, port: 0 } }), log);
  base = `http://127.0.0.1:${ingestor.metricsPort}`;
  await ingestor.subscribed;
  pi = await connectClient(tb.url, { username: 'pi-metrics', password: PASSWORD, clientId: 'pi-metrics' });
}, 60_000);
afterAll(async () => {
  if (pi) await endClient(pi, true);
  await ingestor?.stop();
  await tb?.stop();
  await influxd?.destroy();
});

const page = () => checkedScrape(base);
const readyz = async () => {
  const r = await fetch(`${base}/readyz`);
  return { status: r.status, text: await r.text() };
};

describe('ingestor /metrics, /readyz', () => {
  it('serves its families in the text format promtool accepts', async () => {
    const f = await page();
    const types: Record<string, Family['type']> = {
      machmon_ingestor_messages_received_total: 'counter',
      machmon_ingestor_messages_written_total: 'counter',
      machmon_ingestor_points_written_total: 'counter',
      machmon_ingestor_messages_rejected_total: 'counter',
      machmon_ingestor_points_refused_total: 'counter',
      machmon_ingestor_write_failures_total: 'counter',
      machmon_ingestor_acks_total: 'counter',
      machmon_ingestor_stale_acks_total: 'counter',
      machmon_ingestor_confirmations_published_total: 'counter',
      machmon_ingestor_pending_messages: 'gauge',
      machmon_ingestor_pending_bytes: 'gauge',
      machmon_ingestor_broker_connected: 'gauge',
      machmon_ingestor_influxdb_up: 'gauge',
      machmon_ingestor_write_duration_seconds: 'histogram',
      machmon_ingestor_write_batch_points: 'histogram',
      process_resident_memory_bytes: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) expect(f.get(name)?.type, name).toBe(type);
    expect(value(f, 'machmon_ingestor_broker_connected')).toBe(1);
    expect(value(f, 'machmon_ingestor_influxdb_up')).toBe(1);
    expect(await readyz()).toEqual({ status: 200, text: 'ready\n' });
  });

  it('counts readings received and written, rejections by reason, and times the writes', async () => {
    const before = await page();
    const t = Date.now() - 10_000;
    for (let i = 1; i <= 5; i++) await publishReading(pi, 'pi-metrics', 'cpu', { header: header('pi-metrics', t + i, i), userPercent: i });
    await publishRaw(pi, 'machmon/pi-metrics/cpu', Buffer.from([0xff, 0xff, 0xff, 0x01]));
    await publishReading(pi, 'pi-metrics', 'mem', { header: header('pi-elsewhere', t + 9, 9), totalMemKb: 1000 });
    await waitFor('7 messages acknowledged', () => ingestor.stats.acked - value(before, 'machmon_ingestor_acks_total') >= 7);

    const after = await page();
    const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - (sampleValue(before, name, labels) ?? 0);
    expect(moved('machmon_ingestor_messages_received_total')).toBe(7);
    expect(moved('machmon_ingestor_messages_written_total')).toBe(5);
    expect(moved('machmon_ingestor_points_written_total')).toBe(5);
    expect(moved('machmon_ingestor_messages_rejected_total', { reason: 'hostname_mismatch' })).toBe(1);
    expect(moved('machmon_ingestor_messages_rejected_total', { reason: 'undecodable' })).toBe(1);
    const rejected = after.get('machmon_ingestor_messages_rejected_total')!.samples.reduce((n, s) => n + s.value, 0);
    expect(rejected).toBe(ingestor.stats.rejectedTotal);
    expect(rejected - (before.get('machmon_ingestor_messages_rejected_total')?.samples.reduce((n, s) => n + s.value, 0) ?? 0)).toBe(2);
    expect(moved('machmon_ingestor_confirmations_published_total')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'machmon_ingestor_pending_messages')).toBe(0);

    // The histograms: one observation per write, cumulative buckets ending in +Inf = _count.
    const writes = value(after, 'machmon_ingestor_write_duration_seconds_count');
    expect(writes).toBeGreaterThan(value(before, 'machmon_ingestor_write_duration_seconds_count'));
    expect(value(after, 'machmon_ingestor_write_duration_seconds_bucket', { le: '+Inf' })).toBe(writes);
    expect(value(after, 'machmon_ingestor_write_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(after, 'machmon_ingestor_write_batch_points_count')).toBe(writes);
    const buckets = after.get('machmon_ingestor_write_duration_seconds')!.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it('stores the broker\'s figures, and its refusals by reason, from machmon/$broker/stats (self-metrics, not readings)', async () => {
    expect(await refusalCode(tb.url, 'pi-metrics', 'wrong')).toBe(4);
    const rows = await waitFor('MachmonBroker points', async () => {
      const r = await influxRows(influxd.url, DB, 'SELECT * FROM "MachmonBroker" WHERE "reason" = \'\' ORDER BY time DESC LIMIT 1');
      return r.length && Number(r[0]!.publishesReceived) >= 7 ? r : undefined;
    }, 10_000, 200);
    const row = rows[0]!;
    expect(row.hostname).toMatch(/\S/);
    expect(row.connectionsAgents).toBe(1);
    expect(row.connectionsReaders).toBe(1);
    expect(row.logins).toBeGreaterThanOrEqual(2);
    expect(row.rssBytes).toBeGreaterThan(10e6);
    const refused = await waitFor('the refusal by reason', async () => {
      const r = await influxRows(influxd.url, DB, 'SELECT last("refused") AS n FROM "MachmonBroker" WHERE "reason" = \'bad_password\'');
      return r.length ? r : undefined;
    }, 10_000, 200);
    expect(refused[0]!.n).toBe(1);
    expect(ingestor.stats.received).toBe(7);
    expect(ingestor.stats.writtenMessages).toBe(5);
  });

  it('/readyz is 503 while InfluxDB is stopped, and 200 again once it is back', async () => {
    await influxd.stop();
    const down = await waitFor('/readyz unready', async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, 10_000, 200);
    expect(down.text).toMatch(/^not ready: InfluxDB http:\/\/127\.0\.0\.1:\d+\/ping does not answer \(ECONNREFUSED\)\n$/);
    expect(value(await page(), 'machmon_ingestor_influxdb_up')).toBe(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    await influxd.start();
    await waitFor('/readyz ready again', async () => (await readyz()).status === 200, 10_000, 200);
    expect(value(await page(), 'machmon_ingestor_influxdb_up')).toBe(1);
  }, 60_000);

  it('/readyz is 503 while the broker connection is down', async () => {
    await tb.broker.stop();
    const down = await waitFor('/readyz unready', async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, 10_000, 100);
    expect(down.text).toBe('not ready: not connected to the broker\n');
    expect(value(await page(), 'machmon_ingestor_broker_connected')).toBe(0);
  });
});
