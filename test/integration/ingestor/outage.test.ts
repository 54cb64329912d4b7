// InfluxDB outages, on a private influxd that the tests stop and start: nothing is
// acknowledged before it is written, so the broker keeps (and re-delivers) what waits; the
// pending buffer stays bounded; the log says what is wrong and how to fix it, without a
// line per retry.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { startInfluxd, influxRows, type Influxd } from '../../../testkit/influxd.js';
import { connectClient, endClient, header, publishReading } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { ingestorConfig } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';
import { captureLog } from '../../../testkit/log.js';


let influxd: Influxd | undefined;
let broker: PlainBroker | undefined;
const ingestors: Ingestor[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await endClient(c, true);
  for (const i of ingestors.splice(0)) await i.stop();
  await broker?.close();
  await influxd?.destroy();
});

const rows = async (host: string) => (influxd ? await influxRows(influxd.url, 'metrics', `SELECT * FROM "Cpu" WHERE hostname = '${host}'`) : []);

describe('ingestor during InfluxDB outages', () => {
  it('acknowledges nothing while InfluxDB is down; a restarted ingestor gets the messages again and stores them when it is back', async () => {
    influxd = await startInfluxd();
    broker = await startPlainBroker();
    const { log, lines } = captureLog('info');
    const messages = () => lines.map((l) => l.msg);
    const cfg = ingestorConfig(broker.url, influxd.url, 'metrics', { clientId: 'ingestor-outage', stopTimeoutMs: 300 });
    const first = await startIngestor(cfg, log);
    ingestors.push(first);
    await first.subscribed;
    const pi = await connectClient(broker.url, { clientId: 'pi-o' });
    clients.push(pi);
    const t = Date.now() - 60_000;
    for (let i = 1; i <= 10; i++) await publishReading(pi, 'pi-o', 'cpu', { header: header('pi-o', t + i, i), userPercent: i });
    await waitFor('first 10 acknowledged', () => first.stats.acked === 10);

    await influxd.stop();
    for (let i = 11; i <= 20; i++) await publishReading(pi, 'pi-o', 'cpu', { header: header('pi-o', t + i, i), userPercent: i });
    await waitFor('next 10 taken', () => first.stats.received === 20);
    await waitFor('a few failed attempts', () => first.stats.writeFailures >= 3);
    expect(first.stats.acked).toBe(10);
    expect(first.pending()).toBe(10);
    // One warning for the outage, not one per retry.
    const warnings = messages().filter((m) => m.startsWith('InfluxDB unreachable at'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^InfluxDB unreachable at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED; 10 messages waiting, retrying in \d+\.\d s$/);

    // The ingestor goes away with 10 messages unacknowledged (as if killed).
    await first.stop();
    ingestors.splice(0);
    await influxd.start();
    const second = await startIngestor(cfg, log);
    ingestors.push(second);
    await waitFor('the broker re-delivers the 10 and they are stored', () => second.stats.acked === 10);
    expect(await rows('pi-o')).toHaveLength(20);
  });

  it('starts without InfluxDB, says how to get one, reads at most maxPendingMessages, and catches up once it is there', async () => {
    influxd = await startInfluxd();
    await influxd.stop();
    broker = await startPlainBroker();
    const { log, lines } = captureLog('info');
    const messages = () => lines.map((l) => l.msg);
    const ing = await startIngestor(ingestorConfig(broker.url, influxd.url, 'metrics', { maxPendingMessages: 5 }), log);
    ingestors.push(ing);
    await ing.subscribed;
    await waitFor('the start warning', () => messages().some((m) => m.startsWith('InfluxDB unreachable at')));
    expect(messages().find((m) => m.startsWith('InfluxDB unreachable at'))).toContain('sudo apt-get install influxdb && sudo systemctl start influxdb');

    const pi = await connectClient(broker.url, { clientId: 'pi-bp' });
    clients.push(pi);
    const t = Date.now() - 60_000;
    for (let i = 1; i <= 30; i++) await publishReading(pi, 'pi-bp', 'cpu', { header: header('pi-bp', t + i, i), userPercent: i });
    await waitFor('5 taken', () => ing.stats.received === 5);
    await sleep(300);
    expect(ing.stats.received).toBe(5);
    expect(ing.pending()).toBe(5);

    await influxd.start();
    await waitFor('all 30 stored and acknowledged', async () => ing.stats.acked === 30 && (await rows('pi-bp')).length === 30, 20_000);
    expect(messages().some((m) => /^InfluxDB reachable again at /.test(m))).toBe(true);
  });

  it('also bounds the pending line protocol by size (maxPendingBytes)', async () => {
    influxd = await startInfluxd();
    await influxd.stop();
    broker = await startPlainBroker();
    const ing = await startIngestor(ingestorConfig(broker.url, influxd.url, 'metrics', { maxPendingBytes: 1000 }), captureLog('info').log);
    ingestors.push(ing);
    await ing.subscribed;
    const pi = await connectClient(broker.url, { clientId: 'pi-bytes' });
    clients.push(pi);
    const t = Date.now() - 60_000;
    // About 200 characters of line protocol each: the 5th one reaches the bound.
    for (let i = 1; i <= 20; i++) await publishReading(pi, 'pi-bytes', 'cpu', { header: header('pi-bytes', t + i, i), userPercent: 1.25, nicePercent: 0, systemPercent: 2.5, iowaitPercent: 0.125, stealPercent: 0, idlePercent: 96.125 });
    await waitFor('some taken', () => ing.stats.received > 0);
    await sleep(300);
    expect(ing.stats.received).toBeLessThan(10);
    await influxd.start();
    await waitFor('all 20 stored and acknowledged', async () => ing.stats.acked === 20 && (await rows('pi-bytes')).length === 20, 20_000);
  });
});
