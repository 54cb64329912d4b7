// The broker's session store (broker/fleet-persistence.ts): Aedes' abstract persistence
// suite, what survives a restart (subscriptions, retained messages, wills) and what does not
// (QoS 1 queues, in memory), and the bound on one session's queue.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetPersistence } from '../../../broker/fleet-persistence.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-fleet-persistence-'));
  dirs.push(d);
  return d;
};
const broker = { id: 'broker-1', counter: 0 };
const publish = (topic: string, payload: string, counter: number, extra: object = {}) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, brokerId: broker.id, brokerCounter: counter, ...extra });
const drain = async (s: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const x of s) out.push(x);
  return out;
};

describe('FleetPersistence', () => {
  it("passes aedes-persistence's abstract test suite, in memory and on LevelDB (needs dist/: npx tsc first)", () => {
    const r = spawnSync(process.execPath, ['--test', path.join(import.meta.dirname, 'fixtures/persistence-abstract.mjs')], { encoding: 'utf8', timeout: 120_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/# fail 0/);
    expect(Number(/# pass (\d+)/.exec(out)?.[1])).toBeGreaterThanOrEqual(100);
    expect(r.status).toBe(0);
  }, 150_000);

  it('keeps subscriptions, retained messages and wills across a restart, not the QoS 1 queues', async () => {
    const dir = tmp();
    const a = new FleetPersistence({ dir, maxQueuedMessages: 10 });
    await a.setup(broker);
    const ingestor = { id: 'machmon-ingestor-ingestor' };
    await a.addSubscriptions(ingestor, [{ topic: 'machmon/+/+', qos: 1 }]);
    await a.storeRetained({ ...publish('machmon/pi-1/status', 'online', 1), retain: true });
    await a.storeRetained({ ...publish('machmon/pi-2/status', 'online', 2), retain: true });
    await a.storeRetained({ ...publish('machmon/pi-2/status', '', 3), retain: true }); // cleared
    await a.putWill({ id: 'machmon-agent-pi-1' }, publish('machmon/pi-1/status', 'offline', 4));
    await a.outgoingEnqueueCombi([{ clientId: ingestor.id }], publish('machmon/pi-1/cpu', 'x', 5));
    await a.destroy();

    const b = new FleetPersistence({ dir, maxQueuedMessages: 10 });
    await b.setup({ id: 'broker-2', counter: 0 });
    expect(await b.subscriptionsByClient(ingestor)).toEqual([expect.objectContaining({ topic: 'machmon/+/+', qos: 1 })]);
    expect((await b.subscriptionsByTopic('machmon/pi-9/cpu')).map((s) => s.clientId)).toEqual([ingestor.id]);
    const retained = (await drain(b.createRetainedStreamCombi(['machmon/+/status']))) as { topic: string; payload: Buffer }[];
    expect(retained.map((p) => [p.topic, p.payload.toString()])).toEqual([['machmon/pi-1/status', 'online']]);
    expect(((await drain(b.createRetainedStream('machmon/pi-1/status'))) as unknown[]).length).toBe(1);
    expect(((await drain(b.createRetainedStream('machmon/pi-2/status'))) as unknown[]).length).toBe(0);
    const wills = (await drain(b.streamWill({ 'broker-2': true }))) as { clientId: string; brokerId: string }[];
    expect(wills.map((w) => [w.clientId, w.brokerId])).toEqual([['machmon-agent-pi-1', 'broker-1']]);
    expect(await drain(b.outgoingStream(ingestor))).toEqual([]);
    await b.destroy();
  });

  it('queues at most maxQueuedMessages per session, counts the rest and still sends them untracked', async () => {
    const full: [string, number][] = [];
    const p = new FleetPersistence({ maxQueuedMessages: 3, onQueueFull: (id, n) => full.push([id, n]) });
    await p.setup(broker);
    const sub = { clientId: 'reader' };
    for (let i = 1; i <= 5; i++) await p.outgoingEnqueue(sub, publish('machmon/pi-1/cpu', String(i), i));
    expect(((await drain(p.outgoingStream({ id: 'reader' }))) as { payload: Buffer }[]).map((x) => x.payload.toString())).toEqual(['1', '2', '3']);
    expect(p.droppedTotal).toBe(2);
    expect(full).toEqual([['reader', 3], ['reader', 3]]);
    // Delivering a message that was not queued must not fail (Aedes would drop the connection).
    await expect(p.outgoingUpdate({ id: 'reader' }, { ...publish('machmon/pi-1/cpu', '5', 5), messageId: 9 })).resolves.toBeUndefined();
    // Queued ones are tracked by message id and cleared on PUBACK, in any order.
    await p.outgoingUpdate({ id: 'reader' }, { ...publish('machmon/pi-1/cpu', '2', 2), messageId: 2 });
    await p.outgoingUpdate({ id: 'reader' }, { ...publish('machmon/pi-1/cpu', '1', 1), messageId: 1 });
    expect((await p.outgoingClearMessageId({ id: 'reader' }, { messageId: 2 }))?.payload.toString()).toBe('2');
    expect(((await drain(p.outgoingStream({ id: 'reader' }))) as { payload: Buffer }[]).map((x) => x.payload.toString())).toEqual(['1', '3']);
    await p.destroy();
  });
});
