// Large fleets on Mosquitto: two ingestors in one shared subscription group
// ($share/<ingestor.sharedGroup>/machmon/+/+) split the readings between them. Simulated
// agents publish through Debian's mosquitto (configured by mosquitto-config) and wait for
// their confirmations: every reading stored and confirmed exactly once, both ingestors busy.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { writeMosquittoConfig } from '../../../broker/mosquitto-config.js';
import { loadConfig } from '../../../common/config.js';
import { hostnameOf, runLoad } from '../../../bench/load.js';
import type { Program } from '../../../testkit/processes.js';
import { freePort, startMachmonIngestor, startMosquittoWithConf, type Server } from '../../../bench/servers.js';
import { expectStoredAsSent } from './helpers.js';

const PASSWORD = 'shared-secret';
const READER_PASSWORD = 'shared-reader-secret';
const AGENTS = 20;
const db = `t_scale_shared_${Math.random().toString(36).slice(2, 8)}`;
let dir: string;
let mosquitto: Server;
const ingestors: Program[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-shared-'));
  const port = await freePort();
  const broker = loadConfig({ raw: { broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['pi-*'], readers: ['ingestor'], dataDir: path.join(dir, 'data') } }, sections: ['broker'], env: {} }).broker!;
  const { files } = writeMosquittoConfig(broker, { outDir: path.join(dir, 'conf'), hosts: Array.from({ length: AGENTS }, (_, i) => hostnameOf('pi-', i)) });
  if (process.getuid?.() === 0) appendFileSync(files.conf, 'user root\n');
  mosquitto = await startMosquittoWithConf(dir, files.conf, port);
  for (const n of [1, 2]) {
    ingestors.push(
      await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${port}`, password: READER_PASSWORD, clientId: `machmon-ingestor-${n}`, sharedGroup: 'machmon', influx: { url: inject('influxUrl'), database: db }, flushIntervalMs: 200 }, `ingestor-${n}`),
    );
  }
});

afterAll(async () => {
  for (const i of ingestors) await i.stop();
  await mosquitto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('two ingestors share the load: all stored, none twice', async () => {
  const r = await runLoad({ port: mosquitto.port, password: PASSWORD, prefix: 'pi-', agents: AGENTS, workers: 1, mode: 'fleet', intervalMs: 1000, cycles: 3, confirm: true, drainTimeoutMs: 20_000, stallMs: 10_000 });
  expect(r.connected).toBe(AGENTS);
  expect(r.sent).toBe(AGENTS * 13 * 3);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);

  await expectStoredAsSent(inject('influxUrl'), db, r);

  for (const i of ingestors) await i.stop();
  const received = [1, 2].map((n) => {
    const stopped = readFileSync(path.join(dir, `ingestor-${n}.log`), 'utf8').split('\n').filter((l) => l.includes('"ingestor stopped"')).pop();
    return (JSON.parse(stopped!) as { stats: { received: number } }).stats.received;
  });
  // Readings plus each agent's retained "online": every message went to exactly one of them.
  expect(received[0]! + received[1]!).toBe(r.sent + AGENTS);
  expect(Math.min(...received)).toBeGreaterThan(r.sent / 10);
}, 90_000);
