// What the broker keeps across a restart (broker/fleet-persistence.ts, README "What happens
// when things fail"): the subscription of a persistent session (the ingestor's: clean=false,
// fixed client id) is on disk, so what arrives after the restart, before the ingestor is back,
// is queued for it; the QoS 1 messages queued for it before the restart were in memory only
// and are gone (their agents send them again after agent.outbox.confirmTimeoutMs).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { generate } from 'mqtt-packet';
import { afterAll, expect, it } from 'vitest';
import { startBroker } from '../../../broker/server.js';
import { MachmonError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/log.js';
import { brokerConfig, PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { collect, connect, startTestBroker } from '../../../testkit/broker.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-persist-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('keeps a persistent session\'s subscription and the retained status across a restart, not its queued messages', async () => {
  const session = { clientId: 'machmon-ingestor-test', clean: false };
  const first = await startTestBroker({}, { dataDir, keepData: true });
  try {
    const ingestor = await connect(first.url, 'ingestor', READER_PASSWORD, session);
    await ingestor.subscribeAsync('machmon/+/+', { qos: 1 });
    await ingestor.endAsync();

    const agent = await connect(first.url, 'pi-1', PASSWORD);
    await agent.publishAsync('machmon/pi-1/status', 'online', { qos: 1, retain: true });
    for (let i = 0; i < 3; i++) await agent.publishAsync('machmon/pi-1/cpu', `before-${i}`, { qos: 1 });
    await agent.endAsync();
    // Aedes sends PUBACK before it has queued the message for offline sessions: let that land.
    await sleep(300);
  } finally {
    await first.stop();
  }

  const second = await startTestBroker({}, { dataDir, keepData: true });
  try {
    // An agent publishes while the ingestor is still away: queued for its restored session.
    const agent = await connect(second.url, 'pi-1', PASSWORD);
    await agent.publishAsync('machmon/pi-1/cpu', 'after-restart', { qos: 1 });
    await sleep(300);
    const ingestor = await connect(second.url, 'ingestor', READER_PASSWORD, session);
    const got = collect(ingestor);
    await waitFor('the reading queued after the restart', () => got.includes('machmon/pi-1/cpu after-restart'));
    // New readings arrive without subscribing again.
    await agent.publishAsync('machmon/pi-1/cpu', 'live', { qos: 1 });
    await waitFor('a live reading', () => got.includes('machmon/pi-1/cpu live'));
    expect(got.filter((m) => m.includes('before-'))).toEqual([]);
    // The retained status came back from disk.
    const watcher = await connect(second.url, 'ingestor', READER_PASSWORD, { clientId: 'watcher', clean: true });
    const status = collect(watcher);
    await watcher.subscribeAsync('machmon/pi-1/status', { qos: 1 });
    await waitFor('the retained status', () => status.length === 1);
    expect(status).toEqual(['machmon/pi-1/status online']);
    await Promise.all([agent.endAsync(), ingestor.endAsync(), watcher.endAsync()]);
  } finally {
    await second.stop();
  }
});

it('refuses to start a second broker on a dataDir in use, with a coded error', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-locked-'));
  const first = await startTestBroker({}, { dataDir: dir });
  try {
    const err = await startBroker(brokerConfig(dir), silentLogger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MachmonError);
    expect(err).toMatchObject({ code: 'BROKER_START_FAILED' });
    expect((err as Error).message).toContain(dir);
  } finally {
    await first.stop();
  }
});

it('refuses to start on a port in use and leaves its session store closed', async () => {
  const first = await startTestBroker();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-port-'));
  try {
    await expect(startBroker(brokerConfig(dir, { port: first.broker.port }), silentLogger)).rejects.toMatchObject({ code: 'BROKER_START_FAILED' });
    // The store was closed again: another broker can open it.
    const again = await startBroker(brokerConfig(dir), silentLogger);
    await again.stop();
  } finally {
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('paces a queued backlog to a returning session that reads slowly, instead of dropping it as a slow consumer', { timeout: 30_000 }, async () => {
  const tb = await startTestBroker({ maxOutgoingBufferBytes: 512 * 1024 });
  const clientId = 'machmon-ingestor-backlog';
  const connectBytes = generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId, keepalive: 0, username: 'ingestor', password: Buffer.from(READER_PASSWORD) });
  try {
    const first = await connect(tb.url, 'ingestor', READER_PASSWORD, { clientId, clean: false });
    await first.subscribeAsync('machmon/+/+', { qos: 1 });
    await first.endAsync();
    const agent = await connect(tb.url, 'pi-1', PASSWORD);
    const count = 200;
    const payload = Buffer.alloc(32 * 1024, 0x6c);
    for (let i = 0; i < count; i++) await agent.publishAsync('machmon/pi-1/logs', payload, { qos: 1 }); // 6.25 MiB queued
    await agent.endAsync();
    await sleep(300);

    // The session comes back on a raw socket that reads one chunk per 5 ms: slower than the broker can send.
    const socket = net.connect(tb.broker.port, '127.0.0.1');
    let received = 0;
    let closed = false;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      socket.pause();
      setTimeout(() => socket.resume(), 5);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.write(connectBytes);
    await waitFor('the whole backlog or a drop', () => received >= count * payload.length || closed, 25_000);
    expect(tb.broker.refusals.slow_consumer).toBe(0);
    expect(closed).toBe(false);
    socket.destroy();
  } finally {
    await tb.stop();
  }
});
