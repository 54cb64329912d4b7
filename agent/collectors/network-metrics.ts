// networkMetrics: one row per interface of /proc/net/dev (all of them, up or down, like
// `ifconfig -a`). Per cycle: one read of /proc/net/dev plus mtu and tx_queue_len of each
// interface. Cached and refreshed every 5 minutes or when the interface list changes:
// addresses (os.networkInterfaces(), a getifaddrs call, no child process), link type, flags,
// MAC. Never systeminformation's networkInterfaces(): it spawns processes (~260 ms on a Pi).
// Wireless interfaces add link quality, signal and noise from /proc/net/wireless (one more
// small read per cycle); wired ones their link speed (sysfs `speed`, Mb/s).
import os from 'node:os';
import { errText } from '../../common/errors.js';
import { parseSysHex, parseSysInt } from '../parse/sysfs.js';
import { readKernelText, readText } from '../read/kernel-files.js';
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { broadcastOf, IFF_BROADCAST, linkEncap, parseProcNetDev, pickAddresses, type InterfaceAddresses } from '../parse/net.js';
import { parseWireless, type WirelessStats } from '../parse/wireless.js';
import type { NetworkMetricsRow } from '../../proto/gen/machmon.js';
import { NoDataError, type Collector, type CollectorContext, type CollectorEntry } from './types.js';

export const NET_FACTS_TTL_MS = 5 * 60_000;

interface LinkFacts extends InterfaceAddresses {
  linkEncap?: string;
  broadcastCapable: boolean;
}

export interface NetworkMetricsDeps {
  /** Address source; os.networkInterfaces by default (tests on fixture trees pass recorded results). */
  networkInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  now?: () => number;
}

export function createNetworkMetrics(ctx: CollectorContext, deps: NetworkMetricsDeps = {}): Collector<'networkMetrics'> {
  const { paths, log } = ctx;
  const once = logOnce(log);
  const getInterfaces = deps.networkInterfaces ?? os.networkInterfaces;
  const now = deps.now ?? Date.now;
  const netDev = paths.proc('net', 'dev');
  const wirelessFile = paths.proc('net', 'wireless');

  async function readWireless(): Promise<Map<string, WirelessStats>> {
    try {
      const text = await readKernelText(wirelessFile);
      if (text === undefined) {
        once.log('wireless', 'debug', { file: wirelessFile }, 'no /proc/net/wireless (no wireless extensions): no Wi-Fi values');
        return new Map();
      }
      const stats = parseWireless(text);
      for (const w of stats) if (w.levelNotDbm) once.log(`${w.interface}:level`, 'info', { interface: w.interface, reason: w.levelNotDbm }, 'Wi-Fi signal level is not in dBm; wirelessSignalDbm left unset');
      return new Map(stats.map((w) => [w.interface, w]));
    } catch (err) {
      once.warn('wireless', err, 'cannot read /proc/net/wireless; Wi-Fi values left unset');
      return new Map();
    }
  }
  // Addresses, MAC and link type per interface: read again every NET_FACTS_TTL_MS, or at once when the interfaces change.
  let factsFor = '';
  let names: string[] = [];
  const facts = cachedFor(NET_FACTS_TTL_MS, () => loadFacts(names), now);

  const sysInt = async (name: string, attr: string, parse = parseSysInt): Promise<number | undefined> => {
    const file = paths.sys('class', 'net', name, attr);
    try {
      const v = parse(await readKernelText(file));
      if (v === undefined) once.log(`${name}:${attr}`, 'debug', { file }, 'interface attribute unavailable, left unset');
      return v;
    } catch (err) {
      once.log(`${name}:${attr}`, 'debug', { file, reason: errText(err) }, 'interface attribute unreadable, left unset');
      return undefined;
    }
  };

  async function loadFacts(names: string[]): Promise<Map<string, LinkFacts>> {
    const addresses = getInterfaces();
    const entries = await Promise.all(
      names.map(async (name): Promise<[string, LinkFacts]> => {
        const [type, flags, address] = await Promise.all([
          sysInt(name, 'type'),
          sysInt(name, 'flags', parseSysHex),
          readText(paths.sys('class', 'net', name, 'address')).catch(() => undefined),
        ]);
        const f: LinkFacts = { ...pickAddresses(addresses[name]), broadcastCapable: flags !== undefined && (flags & IFF_BROADCAST) !== 0 };
        const encap = linkEncap(type);
        if (encap) f.linkEncap = encap;
        const mac = address?.trim();
        if (mac) f.mac = mac;
        return [name, f];
      }),
    );
    return new Map(entries);
  }

  return {
    name: 'networkMetrics',
    async collect() {
      const text = await readKernelText(netDev);
      if (text === undefined) {
        once.log('netdev', 'debug', { file: netDev }, 'no /proc/net/dev: no networkMetrics');
        throw new NoDataError(`${netDev} does not exist`);
      }
      const counters = parseProcNetDev(text);
      if (counters.size === 0) throw new NoDataError(`${netDev} lists no interface`);
      names = [...counters.keys()];
      const key = names.join(' ');
      if (key !== factsFor) {
        facts.clear();
        factsFor = key;
      }
      const [byName, wireless] = await Promise.all([facts.get(), readWireless()]);
      const rows = await Promise.all(
        names.map(async (name): Promise<NetworkMetricsRow> => {
          const c = counters.get(name)!;
          const f = byName.get(name);
          const w = wireless.get(name);
          // speed: EINVAL for Wi-Fi and down links, -1 on some drivers; only a positive value is a speed.
          const [mtu, txQueueLen, speed] = await Promise.all([sysInt(name, 'mtu'), sysInt(name, 'tx_queue_len'), w || name === 'lo' ? undefined : sysInt(name, 'speed')]);
          const row: NetworkMetricsRow = { name, rxPackets: c.rxPackets, rxErrors: c.rxErrors, txPackets: c.txPackets, txErrors: c.txErrors, collisions: c.collisions };
          if (f?.ipv4 !== undefined) row.ipv4 = f.ipv4;
          if (f?.netmask !== undefined) row.netmask = f.netmask;
          if (f?.ipv4 !== undefined && f.netmask !== undefined && f.broadcastCapable) {
            const b = broadcastOf(f.ipv4, f.netmask);
            if (b !== undefined) row.broadcast = b;
          }
          if (f?.ipv6 !== undefined) row.ipv6 = f.ipv6;
          if (f?.mac !== undefined) row.mac = f.mac;
          if (f?.linkEncap !== undefined) row.linkEncap = f.linkEncap;
          if (mtu !== undefined) row.mtu = mtu;
          if (txQueueLen !== undefined) row.txQueueLen = txQueueLen;
          if (speed !== undefined && speed > 0) row.linkSpeedMbps = speed;
          if (w?.linkQuality !== undefined) row.wirelessLinkQuality = w.linkQuality;
          if (w?.signalDbm !== undefined) row.wirelessSignalDbm = w.signalDbm;
          if (w?.noiseDbm !== undefined) row.wirelessNoiseDbm = w.noiseDbm;
          return row;
        }),
      );
      return { rows };
    },
  };
}

export const collector: CollectorEntry<'networkMetrics'> = {
  defaultEnabled: true,
  create: (ctx) => createNetworkMetrics(ctx),
};
