// `machmon ingestor --config <file>` as a user runs it (the compiled dist/): it stores what
// it receives and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, inject, it } from 'vitest';
import { MACHMON, REPO } from '../../../testkit/repo.js';
import { influxRows } from '../../../testkit/influxd.js';
import { connectClient, endClient, header, publishReading, randomDb } from '../../../testkit/ingestor.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
let broker: PlainBroker | undefined;
let dir: string | undefined;

afterEach(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('machmon ingestor stores readings and exits 0 on SIGTERM', async () => {
  broker = await startPlainBroker();
  dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-ingestor-cli-'));
  const db = randomDb('cli');
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ingestor: { brokerUrl: broker.url, password: 'S3cret-ingestor-pw', flushIntervalMs: 100, influx: { url: influxUrl, database: db } }, log: { level: 'info' } }));
  const child = spawn(process.execPath, [MACHMON, 'ingestor', '--config', config], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitFor('subscribed', () => out.includes('"subscribed"'), 15_000);
    const pi = await connectClient(broker.url, { clientId: 'pi-cli' });
    const t = Date.now() - 1000;
    await publishReading(pi, 'pi-cli', 'processesNumber', { header: header('pi-cli', t, 1), active: 2, total: 100 });
    await endClient(pi);
    await waitFor('reading stored', async () => (await influxRows(influxUrl, db, `SELECT * FROM "ProcessesNumber"`).catch(() => [])).length === 1);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(out).not.toContain('S3cret-ingestor-pw');
  expect(out).toContain('ingestor stopped');
});
