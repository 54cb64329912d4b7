// The broker's self-metrics (README "Self-metrics"): /metrics as Prometheus reads it (promtool
// check metrics, Prometheus' own parser and linter, must pass it), its counters moving as real
// MQTT.js clients log in (admitted and refused), publish, are refused and queue up, /healthz
// and /readyz, and the same figures published on machmon/$broker/stats, a topic only the
// broker itself may publish to.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBrokerStats } from '../../../common/broker-stats.js';
import { BROKER_STATS_TOPIC } from '../../../common/topics.js';
import { closeOf, connect, refusalCode, startTestBroker, subackCodes, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { checkedScrape, valueOf as value, type Family } from '../../../testkit/prometheus.js';
import { waitFor } from '../../../testkit/wait.js';

let tb: TestBroker;
let base: string;
beforeAll(async () => {
  tb = await startTestBroker({ metrics: { enabled: true, port: 0 }, statsIntervalMs: 100 });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
});
afterAll(async () => {
  await tb?.stop();
});

const INGESTOR_ID = 'machmon-ingestor-ingestor';
const publish = (c: Awaited<ReturnType<typeof connect>>, topic: string, payload: string, retain = false) => c.publishAsync(topic, payload, { qos: 1, retain });

const page = () => checkedScrape(base);


describe('broker /metrics, /healthz, /readyz', () => {
  it('serves the text format that promtool accepts, with the broker families typed and the process metrics', async () => {
    const f = await page();
    const types: Record<string, Family['type']> = {
      machmon_broker_connections: 'gauge',
      machmon_broker_held_connections: 'gauge',
      machmon_broker_connections_accepted_total: 'counter',
      machmon_broker_logins_total: 'counter',
      machmon_broker_logins_refused_total: 'counter',
      machmon_broker_refused_total: 'counter',
      machmon_broker_publishes_received_total: 'counter',
      machmon_broker_publishes_delivered_total: 'counter',
      machmon_broker_received_bytes_total: 'counter',
      machmon_broker_sent_bytes_total: 'counter',
      machmon_broker_retained_messages: 'gauge',
      machmon_broker_queued_messages: 'gauge',
      machmon_broker_queued_messages_dropped_total: 'counter',
      machmon_broker_pending_publishes: 'gauge',
      machmon_broker_pending_publishes_peak: 'gauge',
      machmon_broker_overloads_total: 'counter',
      machmon_broker_overload_seconds_total: 'counter',
      // prom-client's default metrics: what a soak run watches.
      process_resident_memory_bytes: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      process_cpu_seconds_total: 'counter',
    };
    for (const [name, type] of Object.entries(types)) expect(f.get(name)?.type, name).toBe(type);
    expect(value(f, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    // Every refusal reason has its sample from the start, so a rate() sees the first one.
    expect(value(f, 'machmon_broker_logins_refused_total', { reason: 'bad_password' })).toBe(0);
    expect(value(f, 'machmon_broker_refused_total', { reason: 'publish_denied' })).toBe(0);
    expect(f.get('machmon_broker_logins_refused_total')!.samples.some((s) => s.labels.reason === 'publish_denied')).toBe(false);
  });

  it('/healthz and /readyz answer 200 while the broker listens; anything else is 404', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('counts logins admitted and refused by reason, publishes, bytes, refusals, retained and queued messages, connections by state', async () => {
    const before = await page();

    // The ingestor's persistent session, then away: what arrives is queued for it.
    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: INGESTOR_ID, clean: false });
    await reader.subscribeAsync('machmon/+/+', { qos: 1 });
    await reader.endAsync();

    expect(await refusalCode(tb.url, 'pi-m1', 'wrong')).toBe(4);
    expect(await refusalCode(tb.url, 'pi-m1', 'wrong again')).toBe(4);
    expect(await refusalCode(tb.url, 'stranger', PASSWORD)).toBe(5);

    const agent = await connect(tb.url, 'pi-m1', PASSWORD);
    await publish(agent, 'machmon/pi-m1/status', 'online', true);
    for (let i = 0; i < 3; i++) await publish(agent, 'machmon/pi-m1/cpu', `reading ${i}`);
    // A socket that never sends CONNECT is "connecting".
    const silent = net.connect(tb.broker.port, '127.0.0.1');
    await new Promise((r) => silent.once('connect', r));

    const during = await waitFor('the silent socket counted', async () => {
      const f = await page();
      return value(f, 'machmon_broker_connections', { state: 'connecting' }) === 1 ? f : undefined;
    });
    expect(value(during, 'machmon_broker_connections', { state: 'agent' })).toBe(1);
    expect(value(during, 'machmon_broker_connections', { state: 'reader' })).toBe(0);
    expect(value(during, 'machmon_broker_logins_total') - value(before, 'machmon_broker_logins_total')).toBe(2);
    expect(value(during, 'machmon_broker_logins_refused_total', { reason: 'bad_password' }) - value(before, 'machmon_broker_logins_refused_total', { reason: 'bad_password' })).toBe(2);
    expect(value(during, 'machmon_broker_logins_refused_total', { reason: 'host_not_allowed' }) - value(before, 'machmon_broker_logins_refused_total', { reason: 'host_not_allowed' })).toBe(1);
    expect(value(during, 'machmon_broker_connections_accepted_total') - value(before, 'machmon_broker_connections_accepted_total')).toBe(6);
    expect(value(during, 'machmon_broker_publishes_received_total') - value(before, 'machmon_broker_publishes_received_total')).toBe(4);
    expect(value(during, 'machmon_broker_queued_messages', { client_id: INGESTOR_ID })).toBe(4);
    expect(value(during, 'machmon_broker_retained_messages')).toBeGreaterThanOrEqual(1);
    // 4 PUBLISH packets of at least topic + payload each came in; CONNACKs, SUBACK, PUBACKs went out.
    expect(value(during, 'machmon_broker_received_bytes_total') - value(before, 'machmon_broker_received_bytes_total')).toBeGreaterThan(4 * 'machmon/pi-m1/cpu reading 0'.length);
    expect(value(during, 'machmon_broker_sent_bytes_total') - value(before, 'machmon_broker_sent_bytes_total')).toBeGreaterThan(0);

    // The ingestor back: its queue is delivered and emptied.
    const back = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: INGESTOR_ID, clean: false });
    const delivered: string[] = [];
    back.on('message', (topic) => {
      if (topic !== BROKER_STATS_TOPIC) delivered.push(topic);
    });
    await waitFor('the queued messages delivered', () => delivered.length >= 4);
    const after = await waitFor('the queue emptied', async () => {
      const f = await page();
      return value(f, 'machmon_broker_queued_messages', { client_id: INGESTOR_ID }) === 0 ? f : undefined;
    });
    expect(value(after, 'machmon_broker_publishes_delivered_total') - value(before, 'machmon_broker_publishes_delivered_total')).toBeGreaterThanOrEqual(4);
    expect(value(after, 'machmon_broker_connections', { state: 'reader' })).toBe(1);

    // A publish to another host's topic closes the connection and is counted.
    const closed = closeOf(agent);
    agent.publish('machmon/pi-other/cpu', 'forged', { qos: 1 });
    await closed;
    const denied = await page();
    expect(value(denied, 'machmon_broker_refused_total', { reason: 'publish_denied' }) - value(before, 'machmon_broker_refused_total', { reason: 'publish_denied' })).toBe(1);
    silent.destroy();
    await back.endAsync();
  });
});

describe('machmon/$broker/stats', () => {
  it('carries the same figures to readers every broker.statsIntervalMs', async () => {
    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: 'stats-reader' });
    const got: Buffer[] = [];
    reader.on('message', (topic, payload) => topic === BROKER_STATS_TOPIC && got.push(payload));
    await reader.subscribeAsync('machmon/+/+', { qos: 1 });
    await waitFor('two publications of the figures', () => got.length >= 2, 5000);
    const stats = decodeBrokerStats(got.at(-1)!);
    const f = await page();
    expect(stats.figures.connectionsReaders).toBe(1);
    expect(stats.figures.logins).toBe(value(f, 'machmon_broker_logins_total'));
    expect(stats.figures.publishesReceived).toBe(value(f, 'machmon_broker_publishes_received_total'));
    expect(stats.refused.bad_password).toBe(value(f, 'machmon_broker_logins_refused_total', { reason: 'bad_password' }));
    expect(stats.figures.loginsRefused).toBeGreaterThanOrEqual(3);
    expect(stats.figures.retainedMessages).toBeGreaterThanOrEqual(1);
    expect(stats.figures.rssBytes).toBeGreaterThan(10e6);
    expect(Math.abs(stats.timeMs - Date.now())).toBeLessThan(5000);
    await reader.endAsync();
  });

  it('no agent and no reader may publish there, and an agent may not subscribe to it', async () => {
    const agent = await connect(tb.url, 'pi-m2', PASSWORD);
    expect(await subackCodes(agent, [BROKER_STATS_TOPIC, 'machmon/+/stats'])).toEqual([128, 128]);
    const got: string[] = [];
    const watcher = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: 'stats-watcher' });
    watcher.on('message', (topic, payload) => topic === BROKER_STATS_TOPIC && got.push(payload.toString()));
    await watcher.subscribeAsync(BROKER_STATS_TOPIC, { qos: 1 });

    const agentClosed = closeOf(agent);
    agent.publish(BROKER_STATS_TOPIC, '{"hostname":"forged","timeMs":1}', { qos: 1 });
    await agentClosed;
    const reader = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId: 'stats-forger' });
    const readerClosed = closeOf(reader);
    reader.publish(BROKER_STATS_TOPIC, '{"hostname":"forged","timeMs":1}', { qos: 1 });
    await readerClosed;

    await waitFor('a genuine publication after the attempts', () => got.length >= 3, 5000);
    expect(got.filter((p) => p.includes('forged'))).toEqual([]);
    await watcher.endAsync();
  });
});
