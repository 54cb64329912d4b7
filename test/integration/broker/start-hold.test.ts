// After a start, the broker reads from no agent until the persistent sessions it found on disk
// (the ingestor's) are back, at most broker.readerGraceMs (README "What happens when things
// fail"): the agents connect, but what they publish waits in their sockets, so a fleet coming
// back at once cannot bury the ingestor's reconnect. Real broker, real MQTT.js clients.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connect, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const dirs: string[] = [];
const clients: MqttClient[] = [];
let tb: TestBroker | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await tb?.stop();
  tb = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const READER_ID = 'machmon-ingestor-start-hold';

const reader = async (url: string) => {
  const c = await connect(url, 'ingestor', READER_PASSWORD, { clientId: READER_ID, clean: false });
  clients.push(c);
  return c;
};

/** A broker whose data dir holds the reader's persistent session (subscribed to machmon/+/cpu), then stopped. */
async function dataWithSession(): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'machmon-start-hold-'));
  dirs.push(dataDir);
  const first = await startTestBroker({}, { dataDir, keepData: true });
  const r = await reader(first.url);
  await r.subscribeAsync('machmon/+/cpu', { qos: 1 });
  await r.endAsync();
  await first.stop();
  return dataDir;
}

/** Resolves true once the QoS 1 publish is acknowledged (the broker read it). */
const acked = (c: MqttClient, topic: string) => {
  let done = false;
  void c.publishAsync(topic, 'reading', { qos: 1 }).then(() => (done = true), () => undefined);
  return () => done;
};

describe('broker start: agents wait for the persistent sessions', () => {
  it('reads from agents once the reader session found on disk is back, and the reader gets what they sent', async () => {
    const dataDir = await dataWithSession();
    tb = await startTestBroker({ readerGraceMs: 60_000 }, { dataDir, keepData: true });
    expect(tb.lines.some((l) => l.msg === 'agents wait until the persistent sessions are back')).toBe(true);
    const agent = await connect(tb.url, 'pi-1', PASSWORD, { clientId: 'machmon-agent-pi-1' });
    clients.push(agent);
    const isAcked = acked(agent, 'machmon/pi-1/cpu');
    await sleep(700);
    expect(isAcked()).toBe(false);
    const r = await reader(tb.url);
    const got = collect(r);
    await waitFor('the held publish acknowledged', isAcked, 5000);
    await waitFor('the reading at the reader', () => got.includes('machmon/pi-1/cpu reading'), 5000);
    expect(tb.lines.find((l) => l.msg === 'reading from agents')).toMatchObject({ why: 'persistent sessions back' });
  });

  it('reads from agents after readerGraceMs when the session does not come back', async () => {
    const dataDir = await dataWithSession();
    tb = await startTestBroker({ readerGraceMs: 800 }, { dataDir, keepData: true });
    const t0 = Date.now();
    const agent = await connect(tb.url, 'pi-2', PASSWORD, { clientId: 'machmon-agent-pi-2' });
    clients.push(agent);
    const isAcked = acked(agent, 'machmon/pi-2/cpu');
    await waitFor('the held publish acknowledged', isAcked, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(tb.lines.find((l) => l.msg === 'reading from agents')).toMatchObject({ why: 'grace period over', missing: [READER_ID] });
  });

  it('does not wait on a first start (no persistent session on disk)', async () => {
    tb = await startTestBroker({ readerGraceMs: 60_000 });
    const agent = await connect(tb.url, 'pi-3', PASSWORD, { clientId: 'machmon-agent-pi-3' });
    clients.push(agent);
    await waitFor('acknowledged at once', acked(agent, 'machmon/pi-3/cpu'), 2000);
    expect(tb.lines.some((l) => l.msg === 'agents wait until the persistent sessions are back')).toBe(false);
  });
});
