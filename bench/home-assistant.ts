// `npm run bench -- home-assistant`: what the Home Assistant bridge (README "Home Assistant")
// costs the ingestor per reading. This process decodes recorded readings (bench/payloads/pi4.json,
// every group) as the ingestor does (ingestor/router.ts), for `hosts` hosts and `cycles` cycles,
// once alone and once also feeding the bridge, which publishes to a `machmon broker` process
// (its CPU is not counted here) with a Home Assistant login subscribed. The clock is the
// readings' own (one cycle every 10 s): after the first cycle (discovery), each host's readings
// of a cycle give one state message.
// Goal: the bridge adds at most 10 us per reading (the ingestor spends 45-60 us per reading, README
// "Scaling"). Figures are CPU time of this process, noisy on a shared machine: the ratio matters.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../common/log.js';
import { encodeMetric, isMetricName, type MetricName } from '../common/schema.js';
import { metricTopic } from '../common/topics.js';
import { loadConfig } from '../common/config.js';
import { startHomeAssistantBridge } from '../ingestor/home-assistant/bridge.js';
import { route } from '../ingestor/router.js';
import { PAYLOADS_DIR } from './repo.js';
import { startMachmonBroker } from './servers.js';
import { sleep } from '../testkit/wait.js';

const PASSWORD = 'bench-ha-fleet';
const READER_PASSWORD = 'bench-ha-reader';
const HA_PASSWORD = 'bench-ha-home-assistant';
const GOAL_US = 10;
const INTERVAL_MS = 10_000;

export const HOME_ASSISTANT_DEFAULTS = { hosts: 500, cycles: 10 };

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export async function benchHomeAssistant(o: typeof HOME_ASSISTANT_DEFAULTS): Promise<{ lines: string[]; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-bench-ha-'));
  const recorded = (JSON.parse(readFileSync(path.join(PAYLOADS_DIR, 'pi4.json'), 'utf8')) as { readings: Record<string, Record<string, unknown>> }).readings;
  const groups = Object.keys(recorded).filter(isMetricName) as MetricName[];
  const start = Date.now() - o.cycles * INTERVAL_MS;
  const hostName = (h: number) => `bench-ha-${h}`;
  /** The encoded readings of one cycle (each host, each group). */
  const cycle = (c: number) => {
    const out: { topic: string; payload: Uint8Array }[] = [];
    for (let h = 0; h < o.hosts; h++) {
      const host = hostName(h);
      for (const g of groups) {
        const header = { hostname: host, system: 'Raspbian', sampleTimeMs: start + c * INTERVAL_MS, seq: c * 100 + groups.indexOf(g), agentVersion: '0.1.0', monotonicMs: 3_600_000 + c * INTERVAL_MS };
        out.push({ topic: metricTopic(host, g), payload: encodeMetric(g, { ...recorded[g], header } as never) });
      }
    }
    return out;
  };
  const cycles = Array.from({ length: o.cycles }, (_, c) => cycle(c));
  const perCycle = cycles[0]!.length;
  const broker = await startMachmonBroker(dir, { secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['bench-ha-*'], readers: ['ingestor'], homeAssistant: { password: HA_PASSWORD } });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const ha = await mqtt.connectAsync(url, { username: 'homeassistant', password: HA_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
  let received = 0;
  ha.on('message', () => received++);
  await ha.subscribeAsync(['homeassistant/#', 'machmon-ha/#'], { qos: 0 });
  try {
    // Decoding alone, as the ingestor does for every reading.
    let t0 = cpuUs();
    for (const msgs of cycles) for (const m of msgs) route({ topic: m.topic, payload: m.payload, receivedAtMs: Date.now() });
    const routeUs = (cpuUs() - t0) / (perCycle * o.cycles);

    let clock = start;
    const cfg = loadConfig({ raw: { ingestor: { password: READER_PASSWORD, brokerUrl: url, homeAssistant: {} } }, sections: ['ingestor'], env: {} }).ingestor!.homeAssistant!;
    const bridge = startHomeAssistantBridge(cfg, { brokerUrl: url, username: 'ingestor', password: READER_PASSWORD, clientId: 'bench-ha-bridge' }, '0.1.0', silentLogger, () => clock + 100);
    await bridge.ready;
    const timings: number[] = [];
    let published = 0;
    const countPublishes = bridge.client.publish.bind(bridge.client);
    bridge.client.publish = ((...args: Parameters<typeof countPublishes>) => {
      published++;
      return countPublishes(...args);
    }) as typeof bridge.client.publish;
    const publishedPerCycle: number[] = [];
    for (let c = 0; c < o.cycles; c++) {
      clock = start + c * INTERVAL_MS;
      const before = published;
      t0 = cpuUs();
      for (const m of cycles[c]!) {
        const r = route({ topic: m.topic, payload: m.payload, receivedAtMs: clock });
        if (r.kind === 'points' && r.metric && r.reading) bridge.reading(r.host, r.metric, r.reading.message, r.reading.header);
      }
      // The coalesced states go out a second after the readings; then everything is written
      // to the socket once a QoS 1 round trip after the last publish is back.
      await sleep(1300);
      await bridge.client.publishAsync('machmon-ha/bench-done', String(c), { qos: 1 });
      timings.push((cpuUs() - t0) / perCycle - routeUs);
      publishedPerCycle.push(published - before - 1);
    }
    await bridge.stop();
    const steady = timings.slice(1).sort((a, b) => a - b);
    const medianUs = steady[Math.floor(steady.length / 2)]!;
    const ok = medianUs <= GOAL_US;
    const lines = [
      `home-assistant: ${o.hosts} hosts x ${groups.length} groups x ${o.cycles} cycles (${fmt(perCycle * o.cycles)} readings); decoding alone ${fmt(routeUs, 1)} us per reading`,
      `  first cycle (discovery of ${fmt(publishedPerCycle[0]!)} topics): bridge ${fmt(timings[0]!, 1)} us per reading`,
      `  later cycles: bridge ${fmt(medianUs, 1)} us per reading (median; ${fmt((100 * medianUs) / routeUs)} % of decoding), ${fmt(publishedPerCycle.at(-1)! / perCycle, 2)} messages per reading; Home Assistant received ${fmt(received)}`,
      `  goal: bridge <= ${GOAL_US} us per reading: ${fmt(medianUs, 1)} ${ok ? 'met' : 'MISSED'}`,
      ok ? 'GOALS-MET' : 'GOALS-MISSED: home-assistant bridge cost',
    ];
    return { lines, ok };
  } finally {
    await ha.endAsync().catch(() => undefined);
    await broker.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
