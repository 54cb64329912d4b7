// Sessions on disk: QoS 1 messages queued for an offline persistent session (the
// ingestor's: clean=false, fixed client id) survive a restart of the broker.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startBroker } from '../../broker/main.js';
import { MachmonError } from '../../common/errors.js';
import { silentLogger } from '../../common/log.js';
import { brokerConfig, collect, connect, PASSWORD, sleep, startTestBroker, until } from './helpers.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-persist-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('delivers QoS 1 messages queued for an offline persistent session after a broker restart', async () => {
  const session = { clientId: 'machmon-ingestor-test', clean: false };
  const first = await startTestBroker({}, { dataDir, keepData: true });
  try {
    const ingestor = await connect(first.url, 'ingestor', PASSWORD, session);
    await ingestor.subscribeAsync('machmon/+/+', { qos: 1 });
    await ingestor.endAsync();

    const agent = await connect(first.url, 'pi-1', PASSWORD);
    for (let i = 0; i < 3; i++) await agent.publishAsync('machmon/pi-1/cpu', `reading-${i}`, { qos: 1 });
    await agent.endAsync();
    // Aedes sends PUBACK before it has queued the message for offline sessions: let that land.
    await sleep(300);
  } finally {
    await first.stop();
  }

  const second = await startTestBroker({}, { dataDir, keepData: true });
  try {
    const ingestor = await connect(second.url, 'ingestor', PASSWORD, session);
    const got = collect(ingestor);
    expect(ingestor.options.clientId).toBe(session.clientId);
    await until(() => got.length === 3, 'the three queued readings');
    expect(got).toEqual(['machmon/pi-1/cpu reading-0', 'machmon/pi-1/cpu reading-1', 'machmon/pi-1/cpu reading-2']);
    // The subscription came back with the session too: new readings arrive without subscribing again.
    const agent = await connect(second.url, 'pi-1', PASSWORD);
    await agent.publishAsync('machmon/pi-1/cpu', 'after-restart', { qos: 1 });
    await until(() => got.length === 4, 'a reading after the restart');
    await Promise.all([agent.endAsync(), ingestor.endAsync()]);
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
