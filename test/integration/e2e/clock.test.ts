// A Raspberry Pi without RTC, end to end (README "Clock without RTC"): the real agent runtime
// on a recorded Pi Zero tree with an injected clock, a real Aedes broker, the real ingestor and
// the real influxd. The Pi first runs a boot that never synchronises (then "reboots"), then
// boots at a stale time, synchronises 10 minutes later with the recorded jump of months, and
// is stepped back 3 hours by NTP later on. Every reading must be stored at its true time,
// the lost boot's readings refused as time_unknown, and no reading lost or stored twice.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startAgent, type AgentService } from '../../../agent/runtime/agent.js';
import type { CollectorTable } from '../../../agent/runtime/runner.js';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { silentLogger } from '../../../common/log.js';
import { TimeStatus } from '../../../proto/gen/machmon.js';
import { startPlainBroker, type PlainBroker } from '../../../testkit/aedes.js';
import { InjectedClock, RECORDED_JUMP, timesyncd } from '../../../testkit/clock.js';
import { agentConfig, ingestorConfig } from '../../../testkit/configs.js';
import { hostFile, tempTree } from '../../../testkit/fixtures.js';
import { influxRows } from '../../../testkit/influxd.js';
import { randomDb } from '../../../testkit/ingestor.js';
import { captureLog, type LogLine } from '../../../testkit/log.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const HOST = 'pi-noclock';
/** Real time runs this much faster for the agent: 10 minutes pass in 2 s. */
const SCALE = 300;
const TEN_MIN = 10 * 60_000;
const STEP_BACK = -3 * 3600_000;
const LOST_BOOT = 'f00dd092-21cf-4330-a670-037b9c7bbc65';

/** processesNumber carrying which boot and run it is: total = 1000 * boot + run. */
function counter(boot: number): CollectorTable {
  let run = 0;
  return { processesNumber: { defaultEnabled: true, create: () => ({ name: 'processesNumber', collect: async () => ({ active: 1, total: 1000 * boot + ++run }) }) } };
}

const tree = tempTree('pizero');
const dataDir = path.join(tree.root, 'var/lib/machmon');
let broker: PlainBroker;
let ingestor: Ingestor;
afterAll(async () => {
  await ingestor?.stop();
  await broker?.close();
  tree.cleanup();
});

function config() {
  return agentConfig({
    hostname: HOST,
    brokerUrl: broker.url,
    system: 'Raspbian',
    rootDir: tree.root,
    dataDir,
    intervalMs: 100,
    metrics: { agentHealth: { enabled: false } },
    outbox: { syncIntervalMs: 0, confirmTimeoutMs: 20 * TEN_MIN, replayPerSecond: 1000 },
    reconnect: { minMs: 100, maxMs: 400 },
  });
}

const recorded = (lines: LogLine[]) => lines.filter((l) => l.msg === 'reading recorded') as (LogLine & { seq: number; monotonicMs: number; sampleTimeMs: number; timeStatus: number })[];

describe('a Pi without RTC, through the real ingestor into influxd', () => {
  it('stores every reading at its true time across a stale boot, a sync with a jump of months and a step back; a boot that never synced is refused, not stored wrong', { timeout: 60_000 }, async () => {
    const db = randomDb('clock');
    broker = await startPlainBroker();
    ingestor = await startIngestor(ingestorConfig(broker.url, influxUrl, db), silentLogger);
    await ingestor.subscribed;
    timesyncd.running(tree.root);
    const bootIdFile = path.join(tree.root, 'proc/sys/kernel/random/boot_id');
    const recordedBootId = hostFile('pizero/proc/sys/kernel/random/boot_id');

    // Boot 0: never synchronised; the Pi "reboots" after a few readings, which wait in the outbox.
    fs.writeFileSync(bootIdFile, `${LOST_BOOT}\n`);
    const c0 = new InjectedClock({ bootMonotonicMs: 9_000, staleWallMs: RECORDED_JUMP.fakeHwclockMs, trueWallMs: Date.now() - 2 * 3600_000, scale: SCALE });
    const log0 = captureLog('debug');
    let agent: AgentService = await startAgent(config(), log0.log, { collectors: counter(0), now: c0.now, monotonic: c0.monotonic });
    await waitFor('boot 0 readings held', () => agent.stats().outbox.messages >= 5);
    await agent.stop();
    c0.stop();
    const lost = recorded(log0.lines);
    expect(lost.every((r) => r.timeStatus === TimeStatus.TIME_STATUS_UNSYNCHRONIZED)).toBe(true);

    // Boot 1: the recorded boot id, /run emptied, the wall clock at the image date as the
    // recorded Pi Zero W before NTP; the true time is the recorded jump (two months) later.
    timesyncd.reboot(tree.root);
    fs.writeFileSync(bootIdFile, recordedBootId);
    const trueBoot = Date.now() - 30 * 60_000;
    const c1 = new InjectedClock({ bootMonotonicMs: 7_000, staleWallMs: trueBoot - (RECORDED_JUMP.syncedMs - RECORDED_JUMP.staleMs), trueWallMs: trueBoot, scale: SCALE });
    const log1 = captureLog('debug');
    agent = await startAgent(config(), log1.log, { collectors: counter(1), now: c1.now, monotonic: c1.monotonic });
    await sleep(TEN_MIN / SCALE);
    const syncAtMono = c1.monotonic();
    c1.sync();
    timesyncd.synchronized(tree.root);
    await sleep(TEN_MIN / SCALE / 2);
    const stepAtMono = c1.monotonic();
    c1.step(STEP_BACK);
    await sleep(TEN_MIN / SCALE / 2);
    await waitFor('every reading confirmed', () => agent.stats().outbox.messages === 0 && agent.stats().clockTrusted, 20_000);
    const stats = agent.stats();
    await agent.stop();
    c1.stop();

    const readings = recorded(log1.lines);
    const held = readings.filter((r) => r.timeStatus === TimeStatus.TIME_STATUS_UNSYNCHRONIZED);
    const afterStep = readings.filter((r) => r.monotonicMs > stepAtMono + 1);
    expect(held.length, 'readings taken before the sync').toBeGreaterThanOrEqual(15);
    expect(afterStep.length, 'readings after the step back').toBeGreaterThanOrEqual(5);
    expect(stats.timeUnknownTotal).toBe(lost.length);

    const rows = await waitFor('all readings of boot 1 stored', async () => {
      const r = await influxRows(influxUrl, db, `SELECT "totalProcessesNumber" FROM "ProcessesNumber" WHERE "hostname" = '${HOST}'`);
      return r.length >= readings.length ? r : undefined;
    });
    // Stored: exactly the readings of boot 1, each once (total = 1000 + run, run = seq order).
    const byTotal = new Map(rows.map((r) => [r.totalProcessesNumber as number, r.time as number]));
    expect(rows).toHaveLength(readings.length);
    expect([...byTotal.keys()].sort((a, b) => a - b)).toEqual(readings.map((_, k) => 1001 + k));
    readings.forEach((r, k) => {
      const stored = byTotal.get(1001 + k)!;
      // A reading stamped in the very millisecond of the step (the injected clock scales real
      // milliseconds by SCALE) may have been taken just before it or just after: either time is true.
      const atStep = Math.abs(r.monotonicMs - stepAtMono) <= SCALE;
      const before = c1.trueTime(r.monotonicMs);
      const expected = atStep && stored === before ? before : before + (r.monotonicMs > stepAtMono || atStep ? STEP_BACK : 0);
      expect(Math.abs(stored - expected), `reading ${k} (seq ${r.seq}, ${r.monotonicMs < syncAtMono ? 'before' : 'after'} the sync) stored at ${new Date(stored).toISOString()}, true time ${new Date(expected).toISOString()}`).toBe(0);
    });
    // Nothing was stored at a stale time.
    expect(rows.every((r) => (r.time as number) > trueBoot + STEP_BACK)).toBe(true);
    // seq stays the order even where time went back.
    expect(readings.map((r) => r.seq)).toEqual([...readings.map((r) => r.seq)].sort((a, b) => a - b));
    // The lost boot: refused with a reason, confirmed (the outbox emptied), never stored.
    expect(ingestor.stats.rejected.get('time_unknown')).toBe(lost.length);
  });
});
