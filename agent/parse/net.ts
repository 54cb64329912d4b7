// Network interfaces without spawning anything: counters from /proc/net/dev, link facts from
// /sys/class/net/<if>/{type,flags,address,mtu,tx_queue_len}, addresses from os.networkInterfaces().
import type { NetworkInterfaceInfo } from 'node:os';

export interface NetDevCounters {
  rxPackets: number;
  rxErrors: number;
  txPackets: number;
  txErrors: number;
  collisions: number;
}

/**
 * Parses /proc/net/dev: two header lines, then "<if>: rx bytes packets errs drop fifo frame
 * compressed multicast tx bytes packets errs drop fifo colls carrier compressed".
 * Interfaces keep the file's order; malformed lines are skipped.
 */
export function parseProcNetDev(text: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(name, { rxPackets: f[1]!, rxErrors: f[2]!, txPackets: f[9]!, txErrors: f[10]!, collisions: f[13]! });
  }
  return out;
}

/** ARPHRD_* (include/uapi/linux/if_arp.h) -> the name ifconfig (net-tools) prints in parentheses. */
const LINK_ENCAP: Record<number, string> = {
  1: 'Ethernet',
  24: 'IEEE 1394 (Firewire)',
  32: 'InfiniBand',
  256: 'Serial Line IP',
  512: 'Point-to-Point Protocol',
  768: 'IPIP Tunnel',
  772: 'Local Loopback',
  776: 'IPv6-in-IPv4',
  778: 'GRE over IP',
  823: 'IPv6 GRE',
  65534: 'UNSPEC',
};

/** ifconfig-style link encapsulation of a /sys/class/net/<if>/type value; "UNSPEC" for unknown types, as ifconfig does. */
export const linkEncap = (type: number | undefined): string | undefined => (type === undefined ? undefined : (LINK_ENCAP[type] ?? 'UNSPEC'));

/** IFF_BROADCAST in /sys/class/net/<if>/flags. */
export const IFF_BROADCAST = 0x2;

const ipv4ToInt = (ip: string): number | undefined => {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
};

const intToIpv4 = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Broadcast address of ip/netmask (ip | ~mask); undefined when either is not an IPv4 address. */
export function broadcastOf(ip: string, netmask: string): string | undefined {
  const a = ipv4ToInt(ip);
  const m = ipv4ToInt(netmask);
  if (a === undefined || m === undefined) return undefined;
  return intToIpv4((a | (~m >>> 0)) >>> 0);
}

export interface InterfaceAddresses {
  ipv4?: string;
  netmask?: string;
  ipv6?: string;
  mac?: string;
}

/** First IPv4 address, and the IPv6 address ifconfig would list first that is not link-local when there is one. */
export function pickAddresses(infos: readonly NetworkInterfaceInfo[] | undefined): InterfaceAddresses {
  const out: InterfaceAddresses = {};
  if (!infos) return out;
  const v4 = infos.find((i) => i.family === 'IPv4');
  if (v4) {
    out.ipv4 = v4.address;
    out.netmask = v4.netmask;
  }
  const v6s = infos.filter((i) => i.family === 'IPv6');
  const v6 = v6s.find((i) => !/^fe80:/i.test(i.address)) ?? v6s[0];
  if (v6) out.ipv6 = v6.address;
  if (infos[0]?.mac) out.mac = infos[0].mac;
  return out;
}
