import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { broadcastOf, linkEncap, parseProcNetDev, pickAddresses } from '../../../../agent/parse/net.js';
import { hostTree } from '../../../../testkit/fixtures.js';

describe('network parsers', () => {
  it('parses /proc/net/dev, including a name glued to its first number', () => {
    const m = parseProcNetDev(readFileSync(path.join(hostTree('net-pi4'), 'proc/net/dev'), 'utf8'));
    expect([...m.keys()]).toEqual(['lo', 'eth0', 'wlan0']);
    expect(m.get('wlan0')).toEqual({ rxPackets: 30981, rxErrors: 0, txPackets: 10509, txErrors: 0, collisions: 0 });
    expect(m.get('lo')).toEqual({ rxPackets: 176, rxErrors: 0, txPackets: 176, txErrors: 0, collisions: 0 });
  });
  it('parses this machine\'s /proc/net/dev', () => {
    const m = parseProcNetDev(readFileSync('/proc/net/dev', 'utf8'));
    expect(m.has('lo')).toBe(true);
  });
  it('computes the broadcast address and names link types like ifconfig', () => {
    expect(broadcastOf('192.168.1.30', '255.255.255.0')).toBe('192.168.1.255');
    expect(broadcastOf('10.1.2.3', '255.255.240.0')).toBe('10.1.15.255');
    expect(broadcastOf('10.0.0.1', '255.255.255.255')).toBe('10.0.0.1');
    expect(broadcastOf('fe80::1', 'ffff::')).toBeUndefined();
    expect(linkEncap(1)).toBe('Ethernet');
    expect(linkEncap(772)).toBe('Local Loopback');
    expect(linkEncap(65534)).toBe('UNSPEC');
    expect(linkEncap(9999)).toBe('UNSPEC');
    expect(linkEncap(undefined)).toBeUndefined();
  });
  it('prefers a global IPv6 address over the link-local one', () => {
    const infos: os.NetworkInterfaceInfo[] = [
      { address: 'fe80::fc:ff:fe00:1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:fc:00:00:00:01', internal: false, cidr: 'fe80::fc:ff:fe00:1/64', scopeid: 4 },
      { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:fc:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
      { address: 'fd00::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:fc:00:00:00:01', internal: false, cidr: 'fd00::2/64', scopeid: 0 },
    ];
    expect(pickAddresses(infos)).toEqual({ ipv4: '192.0.2.2', netmask: '255.255.255.0', ipv6: 'fd00::2', mac: '02:fc:00:00:00:01' });
    expect(pickAddresses(undefined)).toEqual({});
  });
});
