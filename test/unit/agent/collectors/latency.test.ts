import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLatency, findPing, latencyTarget } from '../../../../agent/collectors/latency.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { freePort } from '../../../../testkit/ports.js';
import { collectorContext } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

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

describe('latency off Linux (the systeminformation source reuses this collector)', () => {
  it.each(['darwin', 'win32'] as const)('auto on %s uses the TCP probe even where a ping is on PATH (its flags are iputils ping\'s)', async (platform) => {
    // A ping that fails loudly if run: auto must not even look for it off Linux.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-ping-'));
    writeFileSync(path.join(dir, 'ping'), '#!/bin/sh\necho "must not run" >&2\nexit 2\n', { mode: 0o755 });
    const oldPath = process.env.PATH;
    process.env.PATH = `${dir}${path.delimiter}${oldPath ?? ''}`;
    try {
      expect(findPing()).toBe(path.join(dir, 'ping'));
      const port = await freePort();
      const { ctx } = collectorContext({ brokerUrl: `mqtt://127.0.0.1:${port}`, latency: { count: 1, timeoutMs: 500 } });
      expect((await createLatency(ctx, { platform }).collect()).method).toBe('tcp');
    } finally {
      process.env.PATH = oldPath;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
