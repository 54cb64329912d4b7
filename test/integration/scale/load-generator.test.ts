// The fleet load generator itself: its payloads are the agent's messages, and its counts
// (sent, received, lost, duplicates) are right against a real broker (Debian's mosquitto)
// and a real subscriber. Needs the compiled dist/ (the workers are forked from it).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMetric } from '../../../common/schema.js';
import { count, quantile } from '../../../bench/histogram.js';
import { runLoad } from '../../../bench/load.js';
import { encodedProfiles, payload, readHeader } from '../../../bench/payloads.js';
import { parseStatCpuTicks, parseStatusKb } from '../../../bench/procs.js';
import { FLEET_METRICS } from '../../../bench/record-payloads.js';
import { startMosquitto, type Server } from '../../../bench/servers.js';

describe('payloads', () => {
  it('header in front of a recorded body decodes as the agent message, rows intact', () => {
    for (const profile of encodedProfiles()) {
      expect(profile.bodies.map((b) => b.metric)).toEqual([...FLEET_METRICS]);
      for (const { metric, body, points } of profile.bodies) {
        const header = { hostname: 'bench-00042', system: profile.system, sampleTimeMs: 1_795_000_000_123, seq: 77, agentVersion: '0.1.0-bench' };
        const p = payload(body, header);
        const msg = decodeMetric(metric, p) as { header?: unknown; rows?: unknown[] };
        expect(msg.header).toEqual(header);
        expect(readHeader(p)).toEqual(header);
        expect(msg.rows ? msg.rows.length : 1).toBe(points);
      }
    }
  });

  it('recorded multi-row groups have several rows (processes, interfaces, log lines)', () => {
    const x86 = encodedProfiles().find((p) => p.profile === 'x86')!;
    const rows = Object.fromEntries(x86.bodies.map((b) => [b.metric, b.points]));
    expect(rows['process']).toBeGreaterThan(1);
    expect(rows['networkMetrics']).toBeGreaterThan(1);
    expect(rows['logs']).toBeGreaterThan(1);
  });
});

describe('proc parsing', () => {
  it('reads utime+stime after a comm with spaces and parentheses, and VmHWM', () => {
    const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 100 1000 50 18446744073709551615';
    expect(parseStatCpuTicks(stat)).toBe(325);
    expect(parseStatusKb('Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n', 'VmHWM')).toBe(123456);
  });
});

describe('load generator against mosquitto', () => {
  let dir: string;
  let mosquitto: Server;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-scale-'));
    mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
  });
  afterAll(async () => {
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fleet mode: 40 agents in 2 processes, 2 cycles, every reading received once', async () => {
    const r = await runLoad({ port: mosquitto.port, password: 'x', prefix: 'bench-', agents: 40, workers: 2, mode: 'fleet', intervalMs: 1000, cycles: 2, confirm: false, sink: {}, drainTimeoutMs: 10_000, stallMs: 3000 });
    expect(r.connected).toBe(40);
    expect(r.sent).toBe(40 * 13 * 2);
    expect(r.done).toBe(r.sent);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(count(r.latency)).toBe(r.sent);
    expect(quantile(r.latency, 0.99)).toBeLessThan(1000);
    expect(Object.values(r.sentByMetric).reduce((s, m) => s + m.messages, 0)).toBe(r.sent);
  });

  it('burst mode: a fixed number of readings per connection, paced by PUBACKs', async () => {
    const r = await runLoad({ port: mosquitto.port, password: 'x', prefix: 'burst-', agents: 10, workers: 1, mode: 'burst', burstMessages: 200, window: 10, confirm: false, sink: {}, drainTimeoutMs: 10_000, stallMs: 3000 });
    expect(r.sent).toBe(2000);
    expect(r.done).toBe(2000);
    expect(r.lastDoneMs).toBeGreaterThanOrEqual(r.firstSendMs);
  });
});
