// startAgent against a real Aedes broker on a random port, with real MQTT.js clients and
// real files; the collectors are small real ones (the runtime's input).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { REPLAY_WINDOW } from '../../../../agent/outbox/replay-pacing.js';
import { startAgent, type AgentService } from '../../../../agent/runtime/agent.js';
import type { CollectorTable } from '../../../../agent/runtime/runner.js';
import { AGENT_VERSION } from '../../../../agent/runtime/version.js';
import { silentLogger, type Logger } from '../../../../common/log.js';
import { confirmTopic } from '../../../../common/topics.js';
import { freePort } from '../../../../testkit/ports.js';
import { Observer } from './observer.js';
import { startPlainBroker, type PlainBroker } from '../../../../testkit/aedes.js';
import { agentConfig } from '../../../../testkit/configs.js';
import { captureLog } from '../../../../testkit/log.js';
import { counter, entry } from './helpers.js';
import { sleep, waitFor } from '../../../../testkit/wait.js';

const HOST = 'pi-test';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-agent-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

async function broker(port = 0): Promise<PlainBroker> {
  const b = await startPlainBroker(port);
  let closed = false;
  const close = b.close;
  const wrapped = { ...b, close: async () => { if (!closed) { closed = true; await close(); } } };
  cleanups.push(() => wrapped.close());
  return wrapped;
}

async function observer(url: string): Promise<Observer> {
  const o = await Observer.connect(url);
  cleanups.push(() => o.close());
  return o;
}

interface AgentSetup {
  url: string;
  dataDir?: string;
  collectors?: CollectorTable;
  config?: Parameters<typeof agentConfig>[0];
  log?: Logger;
}

async function agent(s: AgentSetup): Promise<AgentService> {
  const config = agentConfig({
    brokerUrl: s.url,
    system: 'TestOS',
    dataDir: s.dataDir ?? tmpDir(),
    intervalMs: 60_000,
    reconnect: { minMs: 100, maxMs: 400 },
    ...s.config,
    outbox: { syncIntervalMs: 0, ...(s.config?.outbox as object | undefined) },
  });
  const a = await startAgent(config, s.log ?? silentLogger, { collectors: s.collectors ?? { processesNumber: counter() } });
  cleanups.push(() => a.stop());
  return a;
}

/** A processesNumber collector that gives `n` readings, then NoDataError. */
const limited = (n: number, intervalMs: number) =>
  entry(
    'processesNumber',
    (run) => {
      if (run > n) throw new NoDataError('done');
      return { active: run, total: n };
    },
    { defaultIntervalMs: intervalMs },
  );

describe('agent against a real broker', () => {
  it('publishes readings with the full header and increasing seq, agentHealth included', async () => {
    const b = await broker();
    const o = await observer(b.url);
    const before = Date.now();
    await agent({ url: b.url, collectors: { processesNumber: counter({ defaultIntervalMs: 50 }) }, config: { intervalMs: 200 } });
    await waitFor('readings', () => o.readings.filter((r) => r.metric === 'processesNumber').length >= 5 && o.readings.filter((r) => r.metric === 'agentHealth').length >= 2, 5000);
    // readings taken before the connection was up go out through the replay, so arrival
    // order may differ; the seqs are unique and without gaps
    const seqs = o.readings.map((r) => r.header.seq!).sort((x, y) => x - y);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    for (const r of o.readings) {
      expect(r.topic).toBe(`machmon/${HOST}/${r.metric}`);
      expect(r.header).toMatchObject({ hostname: HOST, system: 'TestOS', agentVersion: AGENT_VERSION });
      expect(r.header.sampleTimeMs).toBeGreaterThanOrEqual(before);
      expect(r.header.sampleTimeMs).toBeLessThanOrEqual(r.at);
    }
    const p = o.readings.filter((r) => r.metric === 'processesNumber').map((r) => r.message['active'] as number);
    expect(p.sort((x, y) => x - y).slice(0, 3)).toEqual([1, 2, 3]);
    // the latest sampled one (nothing confirms: the outbox grows)
    const health = o.readings.filter((r) => r.metric === 'agentHealth').sort((x, y) => y.header.seq! - x.header.seq!)[0]!.message;
    expect(health).toMatchObject({ droppedTotal: 0, resentTotal: 0, collectorFailuresTotal: 0 });
    expect(health['outboxMessages']).toBeGreaterThanOrEqual(2);
    expect(health['outboxBytes']).toBeGreaterThan(0);
    expect(health['oldestUnconfirmedAgeMs']).toBeGreaterThan(0);
  });

  it('logs in as its hostname with the password and client id machmon-agent-<host>', async () => {
    const seen: { id: string; user?: string; pass?: string }[] = [];
    const b = await startPlainBroker(0, {
      authenticate: (client, username, password, done) => {
        seen.push({ id: client.id, user: username, pass: password?.toString() });
        done(null, password?.toString() === 'pw');
      },
    });
    cleanups.push(() => b.close());
    const a = await agent({ url: b.url });
    await waitFor('connect', () => a.stats().connected, 5000);
    expect(seen[0]).toEqual({ id: `machmon-agent-${HOST}`, user: HOST, pass: 'pw' });
  });

  it('keeps retrying with growing delays while the broker refuses its credentials', async () => {
    const b = await startPlainBroker(0, { authenticate: (_c, _u, _p, done) => done(Object.assign(new Error('no'), { returnCode: 4 }) as never, false) });
    cleanups.push(() => b.close());
    const { log, lines } = captureLog('info');
    const a = await agent({ url: b.url, log, config: { reconnect: { minMs: 50, maxMs: 400 } } });
    await waitFor('reconnect attempts', () => lines.filter((l) => l.msg === 'reconnecting to broker').length >= 5, 8000);
    const attempts = lines.filter((l) => l.msg === 'reconnecting to broker');
    expect(attempts.map((l) => l.attempt)).toEqual(attempts.map((_, i) => i + 1));
    const delays = attempts.map((l) => l.delayMs as number);
    expect(delays[0]).toBeLessThanOrEqual(60);
    expect(delays[4]).toBeGreaterThanOrEqual(320);
    expect(delays.every((d) => d >= 50 && d <= 400)).toBe(true);
    expect(a.stats().connected).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('"pw"');
  });

  it('sets status online (retained), its Last Will offline when its socket dies, and online again', async () => {
    const b = await broker();
    const a = await agent({ url: b.url });
    await waitFor('connect', () => a.stats().connected, 5000);
    const o = await observer(b.url); // subscribes after the fact: gets the retained value
    await waitFor('retained status', () => o.statuses.length >= 1, 3000);
    expect(o.statuses[0]).toEqual({ host: HOST, value: 'online', retained: true });

    b.dropClient(`machmon-agent-${HOST}`);
    await waitFor('online again', () => o.statuses.filter((s) => s.value === 'online').length >= 2, 5000);
    expect(o.statuses.map((s) => s.value)).toEqual(['online', 'offline', 'online']);
    expect(a.stats().connects).toBe(2);

    await a.stop();
    await waitFor('offline on stop', () => o.statuses.length >= 4, 3000);
    expect(o.statuses[3]!.value).toBe('offline');
  });

  it('comes back online after a broker restart on the same port', async () => {
    const port = await freePort();
    const b1 = await broker(port);
    const a = await agent({ url: b1.url });
    await waitFor('connect', () => a.stats().connected, 5000);
    await b1.close();
    await waitFor('disconnect', () => !a.stats().connected, 3000);
    const b2 = await broker(port);
    await waitFor('reconnect', () => a.stats().connects === 2, 5000);
    const o = await observer(b2.url);
    await waitFor('retained status on the new broker', () => o.statuses.length >= 1, 3000);
    expect(o.statuses[0]).toMatchObject({ value: 'online', retained: true });
  });

  it('removes confirmed readings from the outbox and does not send them again', async () => {
    const b = await broker();
    const o = await observer(b.url);
    o.confirmIf = () => true;
    const a = await agent({ url: b.url, collectors: { processesNumber: limited(20, 20) }, config: { outbox: { confirmTimeoutMs: 300 } } });
    await waitFor('all confirmed', () => o.confirmed.size >= 21, 5000); // 20 + the first agentHealth
    await waitFor('outbox empty', () => a.stats().outbox.messages === 0, 3000);
    await sleep(700); // beyond the confirm timeout
    expect([...o.counts().values()].every((n) => n === 1)).toBe(true);
    expect(a.stats().resentTotal).toBe(0);
  });

  it('ignores a bad confirmation payload, counts it, and goes on', async () => {
    const b = await broker();
    const o = await observer(b.url);
    const { log, lines } = captureLog('info');
    const a = await agent({ url: b.url, log });
    await waitFor('readings', () => a.stats().connected && o.readings.length >= 2, 5000); // processesNumber and agentHealth
    o.client.publish(confirmTopic(HOST), 'not json', { qos: 1 });
    o.client.publish(confirmTopic(HOST), 'not json', { qos: 1 });
    await waitFor('confirm errors', () => a.stats().confirmErrorsTotal === 2, 3000);
    expect(lines.filter((l) => l.msg === 'confirmation ignored' && l.level === 40)).toHaveLength(1);
    o.confirm(HOST, o.readings.map((r) => r.header.seq!));
    await waitFor('outbox empty', () => a.stats().outbox.messages === 0, 3000);
  });

  it('re-sends unconfirmed readings after the timeout, oldest first, at most the replay window awaiting, until confirmed', async () => {
    const b = await broker();
    const o = await observer(b.url);
    const a = await agent({
      url: b.url,
      collectors: { processesNumber: limited(30, 10) },
      config: { metrics: { agentHealth: { enabled: false } }, outbox: { confirmTimeoutMs: 400, replayPerSecond: 10 } },
    });
    // every reading once (those taken before the connection was up go through the replay, whose window no confirmation opens)
    await waitFor('first sends', () => new Set(o.readings.map((r) => r.header.seq)).size === 30, 5000);
    await waitFor('a re-send', () => o.readings.length >= 31, 3000);
    const firstPass = o.readings.length;
    const t0 = Date.now();
    const n0 = o.readings.length;
    await sleep(1500);
    const resent = o.readings.length - n0;
    const elapsed = (Date.now() - t0) / 1000;
    // Paced by confirmations (agent/outbox/replay-pacing.ts): none comes, so at most the
    // initial window (REPLAY_WINDOW.initial) of re-sent readings await at once, each for two
    // timeouts (the timeout doubles per send): fewer than the token bucket's perSecond * t + burst.
    const { initial } = REPLAY_WINDOW;
    expect(resent).toBeLessThanOrEqual(initial * (1 + Math.ceil(elapsed / 0.8)));
    expect(resent).toBeLessThan(Math.ceil(10 * elapsed) + 3);
    expect(resent).toBeGreaterThanOrEqual(initial);
    const replayed = o.readings.slice(firstPass).map((r) => r.header.seq!);
    // in seq order, round robin: a pass starts after the last reading the replay sent (the
    // readings taken before the connection was up went out through it) and wraps around
    const first = replayed[0]!;
    expect(replayed.slice(0, 8)).toEqual(Array.from({ length: Math.min(8, replayed.length) }, (_, i) => ((first - 1 + i) % 30) + 1));
    expect(a.stats().resentTotal).toBeGreaterThanOrEqual(replayed.length - 1);

    o.confirm(HOST, Array.from({ length: 30 }, (_, i) => i + 1));
    await waitFor('outbox empty', () => a.stats().outbox.messages === 0, 3000);
    const after = o.readings.length;
    await sleep(600);
    expect(o.readings.length - after).toBeLessThanOrEqual(2); // at most what was already in flight
  });

  it('started while the broker is down: keeps readings on disk, connects later and drains them', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const a = await agent({ url, collectors: { processesNumber: limited(15, 20) }, config: { metrics: { agentHealth: { enabled: false } }, outbox: { confirmTimeoutMs: 500, replayPerSecond: 50 } } });
    await waitFor('readings held', () => a.stats().outbox.messages === 15, 5000);
    expect(a.stats().connected).toBe(false);
    const b = await broker(port);
    const o = await observer(b.url);
    o.confirmIf = () => true;
    await waitFor('outbox drained', () => a.stats().outbox.messages === 0, 8000);
    expect(new Set(o.readings.map((r) => r.header.seq)).size).toBe(15);
    expect(a.stats().replayedTotal).toBeGreaterThanOrEqual(15);
  });

  it('drains a backlog larger than the initial replay window as fast as confirmations come (the window grows)', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    // confirmTimeoutMs 10 s: no slot of the window frees by a timeout within this test, only by confirmations
    const a = await agent({ url, collectors: { processesNumber: limited(60, 5) }, config: { metrics: { agentHealth: { enabled: false } }, outbox: { confirmTimeoutMs: 10_000, replayPerSecond: 500 } } });
    await waitFor('readings held', () => a.stats().outbox.messages === 60, 5000);
    const b = await broker(port);
    const o = await observer(b.url);
    o.confirmIf = () => true;
    await waitFor('outbox drained', () => a.stats().outbox.messages === 0, 4000);
    expect(a.stats().resentTotal).toBe(0);
    expect(new Set(o.readings.map((r) => r.header.seq)).size).toBe(60);
  });

  it('restarts (stop, start on the same dataDir): unconfirmed re-sent, confirmed not, seq continues', async () => {
    const b = await broker();
    const o = await observer(b.url);
    o.confirmIf = (s) => s.header.seq! % 2 === 1;
    const dataDir = tmpDir();
    const cfg = { metrics: { agentHealth: { enabled: false } }, outbox: { confirmTimeoutMs: 60_000 } };
    const a1 = await agent({ url: b.url, dataDir, collectors: { processesNumber: limited(10, 10) }, config: cfg });
    await waitFor('odd confirmed', () => a1.stats().outbox.messages === 5 && o.readings.length === 10, 5000);
    await a1.stop();
    o.confirmIf = () => true;
    const n = o.readings.length;
    const a2 = await agent({ url: b.url, dataDir, collectors: { processesNumber: limited(3, 10) }, config: cfg });
    await waitFor('replay and new', () => a2.stats().outbox.messages === 0 && o.readings.length >= n + 8, 5000);
    const later = o.readings.slice(n).map((r) => r.header.seq!);
    expect(later.filter((s) => s <= 10).sort((x, y) => x - y)).toEqual([2, 4, 6, 8, 10]);
    expect(later.filter((s) => s > 10).sort((x, y) => x - y)).toEqual([11, 12, 13]);
  });
});
