// Beyond one broker: two `machmon broker` processes sharing Debian's redis-server
// (broker.cluster.redisUrl: mqemitter-redis carries messages between them,
// aedes-persistence-redis holds sessions, subscriptions and retained messages). Agents on
// broker A, the ingestor on broker B: everything is stored, and each agent gets its
// confirmations back across the nodes.
//
// Caveats (README "Scaling"): between nodes delivery is at most once (Redis pub/sub: a
// message emitted while B's subscriber connection is down is gone), and on reconnect a
// persistent session gets at most cluster.maxSessionDelivery (aedes-persistence-redis'
// maxSessionDelivery, 1000 by default) queued messages. Readings lost that way are not
// confirmed, so the agent's outbox sends them again after outbox.confirmTimeoutMs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { runLoad } from '../../../bench/load.js';
import type { Program } from '../../../testkit/processes.js';
import { startMachmonBroker, startMachmonIngestor, startRedis, type Server } from '../../../bench/servers.js';
import { expectStoredAsSent } from './helpers.js';

const PASSWORD = 'cluster-secret';
const READER_PASSWORD = 'cluster-reader-secret';
const db = `t_scale_cluster_${Math.random().toString(36).slice(2, 8)}`;
let dir: string;
let redis: Server;
let brokerA: Server;
let brokerB: Server;
let ingestor: Program;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-cluster-'));
  redis = await startRedis(dir);
  const broker = { secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['pi-*'], readers: ['ingestor'], cluster: { redisUrl: `redis://127.0.0.1:${redis.port}` } };
  brokerA = await startMachmonBroker(dir, broker, 'broker-a');
  brokerB = await startMachmonBroker(dir, broker, 'broker-b');
  ingestor = await startMachmonIngestor(dir, { brokerUrl: `mqtt://127.0.0.1:${brokerB.port}`, password: READER_PASSWORD, influx: { url: inject('influxUrl'), database: db }, flushIntervalMs: 200 });
});

afterAll(async () => {
  await ingestor?.stop();
  await brokerA?.stop();
  await brokerB?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('agents on broker A, ingestor on broker B: every reading stored and confirmed', async () => {
  const r = await runLoad({ port: brokerA.port, password: PASSWORD, prefix: 'pi-', agents: 20, workers: 1, mode: 'fleet', intervalMs: 1000, cycles: 3, confirm: true, drainTimeoutMs: 20_000, stallMs: 10_000 });
  expect(r.connected).toBe(20);
  expect(r.sent).toBe(20 * 13 * 3);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  await expectStoredAsSent(inject('influxUrl'), db, r);
}, 90_000);
