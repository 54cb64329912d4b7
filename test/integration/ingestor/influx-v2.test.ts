// The InfluxDB v2 write path (@influxdata/influxdb-client WriteApi, our line protocol)
// against a real victoria-metrics, which accepts /api/v2/write and stores each numeric
// field as the series <measurement>_<field> labelled with the point's tags.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';
import { lineBatch } from '../../../ingestor/influx/index.js';
import { InfluxV2Writer } from '../../../ingestor/influx/v2.js';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { connectClient, endClient, header, publishReading } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { ingestorConfig } from '../../../testkit/configs.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../../../testkit/victoria-metrics.js';
import { waitFor } from '../../../testkit/wait.js';

const v2 = (url: string) => ({ apiVersion: 2, url, org: 'machmon', bucket: 'metrics', token: 'not-checked-by-vm' });

describe('InfluxDB v2 write path', () => {
  let vm: VictoriaMetrics;
  beforeEach(async () => {
    vm = await startVictoriaMetrics();
  });
  let broker: PlainBroker;
  let ingestor: Ingestor;
  let pi: MqttClient;
  afterEach(async () => {
    await endClient(pi, true);
    await ingestor.stop();
    await broker.close();
    await vm.destroy();
  });

  it('writes a batch through the WriteApi that can be read back', async () => {
    broker = await startPlainBroker();
    ingestor = await startIngestor(ingestorConfig(broker.url, vm.url, 'unused', { influx: v2(vm.url) }), silentLogger);
    await ingestor.subscribed;
    pi = await connectClient(broker.url, { clientId: 'pi-v2' });
    const t = Date.now() - 10_000;
    await publishReading(pi, 'pi-v2', 'cpu', { header: header('pi-v2', t, 1), userPercent: 12, idlePercent: 88 });
    await publishReading(pi, 'pi-v2', 'networkMetrics', { header: header('pi-v2', t, 2), rows: [{ name: 'eth0', mtu: 1500, rxPackets: 10 }, { name: 'lo', mtu: 65536, rxPackets: 20 }] });
    await waitFor('both acknowledged', () => ingestor.stats.acked === 2);
    expect(ingestor.stats.writtenPoints).toBe(3);
    await vm.flush();

    const cpu = await vm.exportSeries('{__name__="Cpu_userPercentage"}');
    expect(cpu).toHaveLength(1);
    expect(cpu[0]!.metric).toMatchObject({ hostname: 'pi-v2', system: 'Raspbian' });
    expect(cpu[0]!.values).toEqual([12]);
    expect(cpu[0]!.timestamps).toEqual([t]);
    const mtu = await vm.exportSeries('{__name__="NetworkMetrics_MTU",hostname="pi-v2"}');
    expect(Object.fromEntries(mtu.map((s) => [s.metric.interface, s.values[0]]))).toEqual({ eth0: 1500, lo: 65536 });
  });
});

describe('InfluxV2Writer refusals and outages', () => {
  // victoria-metrics answers 204 even for malformed lines (it drops them later), and
  // InfluxDB 2.x cannot run here: this one case uses a minimal HTTP server that answers
  // like InfluxDB 2.x does (docs: "400 ... All request data was rejected and not written").
  it('isolates a line an InfluxDB 2.x refuses (whole batch rejected with 400) and stores the rest', async () => {
    const stored = new Set<string>();
    let requests = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        requests++;
        const lines = body.split('\n');
        const bad = lines.find((l) => l.includes('v=bad'));
        if (bad) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 'invalid', message: `unable to parse '${bad}': invalid number` }));
          return;
        }
        for (const l of lines) stored.add(l.split(' ')[0]!);
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const cfg = loadConfig({ raw: { ingestor: { password: 'x', influx: v2(`http://127.0.0.1:${port}`) } }, sections: ['ingestor'], env: {} }).ingestor!.influx;
      const lines = Array.from({ length: 16 }, (_, i) => `Probe,n=${i} v=${i === 11 ? 'bad' : i} 1700000000000`);
      const result = await new InfluxV2Writer(cfg, silentLogger).write(lineBatch(lines));
      expect(result).toMatchObject({ refusedLines: 1, refusal: expect.stringContaining('unable to parse') });
      expect([...stored].sort()).toEqual(lines.filter((_, i) => i !== 11).map((l) => l.split(' ')[0]!).sort());
      expect(requests).toBeLessThanOrEqual(1 + 2 * Math.log2(16));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('reports an unreachable server as unavailable (retried), not as refused', async () => {
    const cfg = loadConfig({ raw: { ingestor: { password: 'x', influx: v2('http://127.0.0.1:9') } }, sections: ['ingestor'], env: {} }).ingestor!.influx;
    await expect(new InfluxV2Writer(cfg, silentLogger).write(lineBatch(['Probe v=1 1']))).rejects.toMatchObject({ code: 'INFLUX_UNAVAILABLE' });
  });
});
