import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetworkMetrics, NET_FACTS_TTL_MS } from '../../../../agent/collectors/network-metrics.js';
import { broadcastOf, parseProcNetDev } from '../../../../agent/parse/net.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, hostTree, output } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

const tmpDirs: string[] = [];

afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('networkMetrics collector', () => {
  it('a Pi 5 wlan0 in /proc/net/wireless: link quality and signal in dBm on its row, no noise figure (brcmfmac -256)', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-wifi-'));
    tmpDirs.push(root);
    await cp(hostTree('net-pi4'), root, { recursive: true });
    await cp(hostTree('pi5/proc/net/wireless'), path.join(root, 'proc/net/wireless'));
    const { ctx } = collectorContext({ rootDir: root });
    const rows = (await createNetworkMetrics(ctx, { networkInterfaces: () => ({}) }).collect()).rows!;
    expect(rows.find((r) => r.name === 'wlan0')).toMatchObject({ wirelessLinkQuality: 58, wirelessSignalDbm: -52 });
    expect(rows.find((r) => r.name === 'wlan0')!.wirelessNoiseDbm).toBeUndefined();
    expect(rows.filter((r) => r.name !== 'wlan0').every((r) => r.wirelessLinkQuality === undefined && r.wirelessSignalDbm === undefined)).toBe(true);
  });

  it('a relative Wi-Fi level (USB dongle on a Pi 1) leaves the dBm unset and says why once', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-wifi-'));
    tmpDirs.push(root);
    await cp(hostTree('net-pi4'), root, { recursive: true });
    await writeFile(path.join(root, 'proc/net/wireless'), output('proc-net-wireless-pi1-usb-wifi-positive-level'));
    const { ctx, lines } = collectorContext({ rootDir: root });
    const c = createNetworkMetrics(ctx, { networkInterfaces: () => ({}) });
    await c.collect();
    const wlan = (await c.collect()).rows!.find((r) => r.name === 'wlan0')!;
    expect(wlan.wirelessLinkQuality).toBe(100);
    expect(wlan.wirelessSignalDbm).toBeUndefined();
    expect(lines.filter((l) => l.msg === 'Wi-Fi signal level is not in dBm; wirelessSignalDbm left unset')).toHaveLength(1);
  });

  it('reads a Pi 4 tree like its ifconfig: counters, MTU, queue length, link type; broadcast only where IFF_BROADCAST', async () => {
    const { ctx } = collectorContext({ rootDir: hostTree('net-pi4') });
    // Addresses come from getifaddrs; raspinfo masks them, so the ones here are documentation addresses.
    const c = createNetworkMetrics(ctx, {
      networkInterfaces: () => ({
        lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
        wlan0: [{ address: '192.0.2.30', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:30', internal: false, cidr: '192.0.2.30/24' }],
      }),
    });
    const reading = await c.collect();
    expect(reading.rows).toEqual([
      { name: 'lo', ipv4: '127.0.0.1', netmask: '255.0.0.0', mac: '00:00:00:00:00:00', linkEncap: 'Local Loopback', mtu: 65536, txQueueLen: 1000, rxPackets: 176, rxErrors: 0, txPackets: 176, txErrors: 0, collisions: 0 },
      { name: 'eth0', linkEncap: 'Ethernet', mtu: 1500, txQueueLen: 1000, rxPackets: 0, rxErrors: 0, txPackets: 0, txErrors: 0, collisions: 0 },
      { name: 'wlan0', ipv4: '192.0.2.30', netmask: '255.255.255.0', broadcast: '192.0.2.255', mac: '02:00:00:00:00:30', linkEncap: 'Ethernet', mtu: 1500, txQueueLen: 1000, rxPackets: 30981, rxErrors: 0, txPackets: 10509, txErrors: 0, collisions: 0 },
    ]);
    const decoded = decodeMetric('networkMetrics', encodeMetric('networkMetrics', { header, ...reading }));
    expect(decoded.rows![1]!.ipv4).toBeUndefined();
    expect(decoded.rows![1]!.rxPackets).toBe(0);
  });

  it('reads this machine: every /proc/net/dev interface, addresses as os.networkInterfaces() shows them', async () => {
    const { ctx } = collectorContext();
    const before = parseProcNetDev(readFileSync('/proc/net/dev', 'utf8'));
    const { rows } = await createNetworkMetrics(ctx).collect();
    expect(rows!.map((r) => r.name)).toEqual([...before.keys()]);
    const lo = rows!.find((r) => r.name === 'lo')!;
    expect(lo).toMatchObject({ ipv4: '127.0.0.1', netmask: '255.0.0.0', linkEncap: 'Local Loopback', mtu: 65536 });
    expect(lo.broadcast).toBeUndefined();
    for (const r of rows!) {
      expect(r.rxPackets).toBeGreaterThanOrEqual(before.get(r.name!)!.rxPackets);
      expect(r.mtu).toBe(Number(readFileSync(`/sys/class/net/${r.name}/mtu`, 'utf8')));
      const v4 = os.networkInterfaces()[r.name!]?.find((i) => i.family === 'IPv4');
      expect(r.ipv4).toBe(v4?.address);
      if (v4 && r.name !== 'lo') expect(r.broadcast).toBe(broadcastOf(v4.address, v4.netmask));
    }
  });

  it('caches addresses and link facts: refreshed after 5 minutes or when the interface list changes', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-net-'));
    tmpDirs.push(root);
    await cp(hostTree('net-pi4'), root, { recursive: true });
    const { ctx } = collectorContext({ rootDir: root });
    let now = 1_000_000;
    let calls = 0;
    const c = createNetworkMetrics(ctx, { now: () => now, networkInterfaces: () => (calls++, {}) });
    for (let i = 0; i < 3; i++) await c.collect();
    expect(calls).toBe(1);
    now += NET_FACTS_TTL_MS + 1;
    await c.collect();
    expect(calls).toBe(2);
    const dev = readFileSync(path.join(root, 'proc/net/dev'), 'utf8');
    await writeFile(path.join(root, 'proc/net/dev'), dev.replace(/\n?$/, '\n') + '  usb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n');
    const { rows } = await c.collect();
    expect(calls).toBe(3);
    expect(rows!.at(-1)).toEqual({ name: 'usb0', rxPackets: 0, rxErrors: 0, txPackets: 0, txErrors: 0, collisions: 0 });
  });
});
