import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLatency, findPing, latencyTarget } from '../../../../agent/collectors/latency.js';
import { parsePingSummary, rttStats } from '../../../../agent/parse/ping.js';
import { runBounded } from '../../../../agent/read/run-bounded.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { freePort } from '../../../../testkit/ports.js';
import { collectorContext, OUTPUTS } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

describe('ping summary parser', () => {
  it('reads the iputils summary recorded on a Pi 4', () => {
    expect(parsePingSummary(readFileSync(path.join(OUTPUTS, 'ping-pi4.txt'), 'utf8'))).toEqual({
      transmitted: 3, received: 3, lossPercent: 0, minMs: 0.096, avgMs: 0.13, maxMs: 0.166, mdevMs: 0.028,
    });
  });
  it('reads 100% loss (no rtt line): round trips stay unset', () => {
    expect(parsePingSummary(readFileSync(path.join(OUTPUTS, 'ping-100-percent-loss.txt'), 'utf8'))).toEqual({ transmitted: 5, received: 0, lossPercent: 100 });
  });
  it('reads BusyBox\'s wording and iputils with errors, refuses text without a summary', () => {
    const busybox = '--- 10.0.0.1 ping statistics ---\n3 packets transmitted, 2 packets received, 33% packet loss\nround-trip min/avg/max = 0.301/0.402/0.503 ms\n';
    expect(parsePingSummary(busybox)).toEqual({ transmitted: 3, received: 2, lossPercent: 33, minMs: 0.301, avgMs: 0.402, maxMs: 0.503 });
    expect(parsePingSummary('4 packets transmitted, 1 received, +3 errors, 75% packet loss, time 3005ms\n')).toMatchObject({ transmitted: 4, received: 1, lossPercent: 75 });
    expect(parsePingSummary('ping: unknown host nowhere\n')).toBeUndefined();
  });
  it('computes connect-time statistics like ping (mdev = population standard deviation)', () => {
    expect(rttStats([])).toBeUndefined();
    const s = rttStats([1, 2, 3])!;
    expect(s).toMatchObject({ minMs: 1, avgMs: 2, maxMs: 3 });
    expect(s.mdevMs).toBeCloseTo(Math.sqrt(2 / 3), 10);
  });
});

describe('latency target', () => {
  it('defaults to the broker host and port', () => {
    expect(latencyTarget('mqtt://10.0.0.5:1884', undefined)).toEqual({ host: '10.0.0.5', port: 1884 });
    expect(latencyTarget('mqtts://broker.lan', undefined)).toEqual({ host: 'broker.lan', port: 8883 });
    expect(latencyTarget('mqtt://[fd00::1]:1883', undefined)).toEqual({ host: 'fd00::1', port: 1883 });
    expect(latencyTarget('mqtt://broker.lan', 'server.lan')).toEqual({ host: 'server.lan', port: 1883 });
    expect(latencyTarget('mqtt://broker.lan', 'server.lan:22')).toEqual({ host: 'server.lan', port: 22 });
    expect(latencyTarget('mqtt://broker.lan', '[fd00::2]:80')).toEqual({ host: 'fd00::2', port: 80 });
  });
  it('finds ping only as an executable file on PATH, without spawning', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'machmon-path-'));
    try {
      await writeFile(path.join(dir, 'ping'), '', { mode: 0o644 });
      const systemPing = findPing('');
      expect(findPing(dir)).toBe(systemPing); // not executable: skipped
      await chmod(path.join(dir, 'ping'), 0o755);
      expect(findPing(dir)).toBe(path.join(dir, 'ping'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('latency collector, TCP connect time (no ping binary here)', () => {
  it('measures count connects to the broker port: method tcp, no loss, ordered statistics', async () => {
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const { ctx } = collectorContext({ brokerUrl: `mqtt://127.0.0.1:${port}`, latency: { count: 4, method: 'tcp' } });
      const reading = await createLatency(ctx).collect();
      expect(reading).toMatchObject({ method: 'tcp', packetsTransmitted: 4, packetsReceived: 4, packetLossPercent: 0 });
      expect(reading.minRttMs!).toBeGreaterThan(0);
      expect(reading.minRttMs!).toBeLessThanOrEqual(reading.meanRttMs!);
      expect(reading.meanRttMs!).toBeLessThanOrEqual(reading.maxRttMs!);
      expect(reading.mdevRttMs!).toBeGreaterThanOrEqual(0);
      expect(reading.requestDurationMs).toBeGreaterThanOrEqual(0);
      expect(reading.clientServerMs).toBeUndefined();
      await expect.poll(() => accepted, { timeout: 2000 }).toBe(4);
      const decoded = decodeMetric('latency', encodeMetric('latency', { header, ...reading }));
      expect(decoded.method).toBe('tcp');
      expect(decoded.packetLossPercent).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('counts refused connects as lost: 100% loss and no round-trip values', async () => {
    const port = await freePort();
    const { ctx } = collectorContext({ brokerUrl: `mqtt://127.0.0.1:${port}` });
    const reading = await createLatency(ctx).collect();
    expect(reading).toEqual({ method: 'tcp', packetsTransmitted: 3, packetsReceived: 0, packetLossPercent: 100, requestDurationMs: expect.any(Number) });
  });

  it('falls back to TCP with a warning when icmp is asked for but there is no ping', async () => {
    const port = await freePort();
    const { ctx, messages } = collectorContext({ brokerUrl: `mqtt://127.0.0.1:${port}`, latency: { method: 'icmp', count: 1 } });
    const reading = await createLatency(ctx).collect();
    expect(reading.method).toBe(findPing() ? 'icmp' : 'tcp');
    if (!findPing()) expect(messages('latency.method is icmp but no ping binary was found: using the TCP connect time')).toHaveLength(1);
  });

  it('fails the sample when the target does not resolve', async () => {
    const { ctx } = collectorContext({ brokerUrl: 'mqtt://no-such-host.invalid:1883', latency: { method: 'tcp' } });
    await expect(createLatency(ctx).collect()).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('bounded child processes (ping and journalctl run through this)', () => {
  it('returns output and exit code of a program that fails', async () => {
    const r = await runBounded('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 });
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });
  it('kills a program that runs past its timeout', async () => {
    const t0 = Date.now();
    await expect(runBounded('sleep', ['30'], { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it('kills a program when the collector is closed (abort)', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await expect(runBounded('sleep', ['30'], { timeoutMs: 60_000, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it('reports a missing program', async () => {
    await expect(runBounded('/nonexistent/ping', [], { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
