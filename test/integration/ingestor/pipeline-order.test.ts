// Several batches in flight at once (ingestor/pipeline.ts, MAX_CONCURRENT_WRITES), against
// the shared real influxd: a batch that InfluxDB finishes later than the ones after it
// still gets its messages acknowledged first, so PUBACKs go out in the order the messages
// arrived (MQTT 3.1.1 section 4.6) and none before its own write and every earlier one.
import { expect, inject, it } from 'vitest';
import { silentLogger } from '../../../common/log.js';
import type { LineBatch } from '../../../ingestor/influx/index.js';
import { InfluxV1Writer } from '../../../ingestor/influx/v1.js';
import { MAX_CONCURRENT_WRITES, Pipeline } from '../../../ingestor/pipeline.js';
import { IngestorStats } from '../../../ingestor/stats.js';
import { influxQuery } from '../../../testkit/influxd.js';
import { ingestorConfig } from '../../../testkit/configs.js';
import { randomDb } from '../../../testkit/ingestor.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');

it('writes batches concurrently and acknowledges them in arrival order', async () => {
  const db = randomDb('order');
  const cfg = ingestorConfig('mqtt://127.0.0.1:1', influxUrl, db);
  const real = new InfluxV1Writer(cfg.influx);
  let writes = 0;
  let concurrent = 0;
  let peak = 0;
  // The real writer; the first write is held back 400 ms, so the later batches finish first.
  const writer = {
    url: real.url,
    setup: () => real.setup(),
    async write(lines: LineBatch) {
      const n = writes++;
      concurrent++;
      peak = Math.max(peak, concurrent);
      if (n === 0) await new Promise((r) => setTimeout(r, 400));
      try {
        return await real.write(lines);
      } finally {
        concurrent--;
      }
    },
  };
  const acked: number[] = [];
  const pipeline = new Pipeline(writer, { ack: (_epoch, id) => (acked.push(id), true), resume: () => undefined }, () => undefined, new IngestorStats(), silentLogger, {
    batchSize: 2, flushIntervalMs: 50, maxPendingMessages: 1000, maxPendingBytes: 1 << 20, retry: { minMs: 50, maxMs: 100 }, stopTimeoutMs: 2000,
  });
  pipeline.start();
  const n = 2 * MAX_CONCURRENT_WRITES;
  const t0 = Date.now();
  for (let i = 1; i <= n; i++) pipeline.add({ epoch: 0, messageId: i, lines: [`Order,hostname=h value=${i} ${t0 + i}`] });
  await waitFor('every message acknowledged', async () => acked.length === n, 10_000);
  expect(acked).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(peak).toBeGreaterThan(1);
  const res = await influxQuery(influxUrl, db, 'SELECT count("value") FROM "Order"');
  expect(res.series?.[0]?.values[0]?.[1]).toBe(n);
  await pipeline.stop();
});
