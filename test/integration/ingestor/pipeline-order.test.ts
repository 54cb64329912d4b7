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
import { sleep, waitFor } from '../../../testkit/wait.js';

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
      if (n === 0) await sleep(400);
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

// Entries wait as one UTF-8 buffer each (ingestor/pipeline.ts): the writer gets the batch as
// that body, and the lines one by one for splitting a refused batch (influx/v2.ts), which
// must hold also when a string field carries a raw newline, where the body alone does not
// say where a line ends.
it('hands the writer the body and the exact lines, also with a raw newline inside a string field', async () => {
  const db = randomDb('body');
  const cfg = ingestorConfig('mqtt://127.0.0.1:1', influxUrl, db);
  const real = new InfluxV1Writer(cfg.influx);
  const seen: { body: string; lines: readonly string[] }[] = [];
  const writer = {
    url: real.url,
    setup: () => real.setup(),
    write(batch: LineBatch) {
      seen.push({ body: batch.body.toString('utf8'), lines: batch.lines() });
      return real.write(batch);
    },
  };
  const acked: number[] = [];
  const pipeline = new Pipeline(writer, { ack: (_epoch, id) => (acked.push(id), true), resume: () => undefined }, () => undefined, new IngestorStats(), silentLogger, {
    batchSize: 100, flushIntervalMs: 50, maxPendingMessages: 1000, maxPendingBytes: 1 << 20, retry: { minMs: 50, maxMs: 100 }, stopTimeoutMs: 2000,
  });
  pipeline.start();
  const t = Date.now();
  const entries = [
    [`Body,hostname=a text="plain" ${t}`, `Body,hostname=a,n=2 v=2i ${t}`],
    [`Body,hostname=b text="one\ntwo" ${t}`, `Body,hostname=b,n=2 v=3i ${t}`],
    [`Body,hostname=c v=4i ${t}`],
  ];
  entries.forEach((lines, i) => pipeline.add({ epoch: 0, messageId: i + 1, lines }));
  await waitFor('every message acknowledged', async () => acked.length === entries.length, 10_000);
  await pipeline.stop();
  expect(seen.flatMap((s) => s.lines)).toEqual(entries.flat());
  expect(seen.map((s) => s.body).join('')).toBe(entries.flat().map((l) => `${l}\n`).join(''));
  const rows = await influxQuery(influxUrl, db, 'SELECT "text" FROM "Body" WHERE hostname = \'b\' AND "text" <> \'\'');
  expect(rows.series?.[0]?.values[0]?.[1]).toBe('one\ntwo');
});
