// InfluxDB answers can be wrong too: another service on the port, a proxy's error page, a
// body that is not what the API promises, a connection cut mid-answer, an answer that never
// comes. The ingestor must say what is wrong and where, keep the messages unacknowledged,
// stay alive, and store everything once a real InfluxDB answers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { influxRows } from '../../../testkit/influxd.js';
import { connectClient, endClient, header, publishReading, randomDb } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { ingestorConfig } from '../../../testkit/configs.js';
import { waitFor } from '../../../testkit/wait.js';
import { captureLog } from '../../../testkit/log.js';

const influxUrl = inject('influxUrl');

type Mode = 'html' | 'not-json' | 'wrong-shape' | 'cut' | 'hang' | 'proxy';

/** An HTTP server that misbehaves in the current mode, or forwards to the real influxd. */
function misbehavingInflux() {
  const state = { mode: 'html' as Mode, requests: 0 };
  const server = http.createServer(async (req, res) => {
    state.requests++;
    switch (state.mode) {
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>It works!</body></html>');
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"results": [');
        return;
      case 'wrong-shape':
        res.writeHead(req.url?.startsWith('/write') ? 200 : 200, { 'content-type': 'application/json' }).end('{"results": "yes"}');
        return;
      case 'cut':
        req.socket.destroy();
        return;
      case 'hang':
        return; // never answers; the ingestor's timeout must fire
      case 'proxy': {
        const body = await new Promise<Buffer>((r) => {
          const parts: Buffer[] = [];
          req.on('data', (d: Buffer) => parts.push(d));
          req.on('end', () => r(Buffer.concat(parts)));
        });
        const upstream = await fetch(`${influxUrl}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'text/plain' }, body: req.method === 'POST' ? body : undefined });
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await upstream.arrayBuffer()));
      }
    }
  });
  return { server, state };
}

const fake = misbehavingInflux();
let fakeUrl = '';
let broker: PlainBroker;
let ingestor: Ingestor;
let pi: MqttClient;
const DB = randomDb('badanswers');
const { log, lines } = captureLog('info');

beforeAll(async () => {
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', () => r()));
  fakeUrl = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  broker = await startPlainBroker();
  ingestor = await startIngestor(ingestorConfig(broker.url, fakeUrl, DB, { clientId: 'ingestor-bad-answers', retry: { minMs: 50, maxMs: 200 }, influx: { url: fakeUrl, database: DB, timeoutMs: 500 } }), log);
  await ingestor.subscribed;
  pi = await connectClient(broker.url, { clientId: 'pi-bad-answers' });
});

afterAll(async () => {
  await endClient(pi, true);
  await ingestor.stop();
  await broker.close();
  fake.server.closeAllConnections();
  await new Promise<void>((r) => fake.server.close(() => r()));
});

describe('ingestor against InfluxDB answers that are wrong', () => {
  it('survives each kind of wrong answer acknowledging nothing it could not prove stored, then stores everything from a real InfluxDB', async () => {
    const t = Date.now() - 60_000;
    // First a real InfluxDB behind the port: database made, two readings stored.
    fake.state.mode = 'proxy';
    for (let i = 1; i <= 2; i++) await publishReading(pi, 'pi-bad-answers', 'cpu', { header: header('pi-bad-answers', t + i, i), userPercent: i });
    await waitFor('2 acknowledged', () => ingestor.stats.acked === 2, 15_000);
    // Then something else answers there: a 200 that is not InfluxDB's 204 is no proof of a write.
    fake.state.mode = 'html';
    for (let i = 3; i <= 5; i++) await publishReading(pi, 'pi-bad-answers', 'cpu', { header: header('pi-bad-answers', t + i, i), userPercent: i });
    await waitFor('5 taken', () => ingestor.stats.received === 5);
    for (const mode of ['html', 'not-json', 'wrong-shape', 'cut', 'hang'] as const) {
      fake.state.mode = mode;
      const before = fake.state.requests;
      await waitFor(`two attempts against "${mode}"`, () => fake.state.requests >= before + 2, 10_000);
      expect(ingestor.stats.acked, mode).toBe(2);
      expect(ingestor.pending(), mode).toBe(3);
    }
    // Every warning names the URL it could not use.
    const warnings = lines.filter((l) => l.level >= 40 && /InfluxDB/.test(l.msg));
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(w.msg).toContain(fakeUrl);

    fake.state.mode = 'proxy';
    await waitFor('all 5 acknowledged once InfluxDB answers', () => ingestor.stats.acked === 5, 20_000);
    const rows = await influxRows(influxUrl, DB, `SELECT "userPercentage" FROM "Monthly"."Cpu" WHERE hostname = 'pi-bad-answers'`);
    expect(rows.map((r) => r.userPercentage).sort()).toEqual([1, 2, 3, 4, 5]);
  }, 60_000);
});
