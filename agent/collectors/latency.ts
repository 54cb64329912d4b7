// latency: round trip to the server. With a `ping` binary: `ping -n -q -c <count>` to the
// target (method "icmp"; one child process per sample, bounded by a timeout and killed on
// close). Without one, or when ICMP is not permitted: the TCP connect time to the broker's
// host and port, measured <count> times (method "tcp": attempts = transmitted, successful
// connects = received). timeRequest is the duration of the whole probe; clientServer is left
// to the ingestor. Runs every 30 s unless metrics.latency.intervalMs says otherwise.
import { accessSync, constants } from 'node:fs';
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { brokerAddress } from '../parse/broker-url.js';
import { logOnce } from './shared/log-once.js';
import { parsePingSummary, rttStats } from '../parse/ping.js';
import { runBounded } from '../read/run-bounded.js';
import { tcpConnectTime } from '../read/tcp-probe.js';
import { type Collector, type CollectorContext, type CollectorEntry, type Reading } from './types.js';
import { SensorError } from '../../common/errors.js';


export interface LatencyTarget {
  host: string;
  port: number;
}

/** Host and TCP port to probe: latency.target ("host", "host:port", "[v6]:port") or the brokerUrl's host and port. */
export function latencyTarget(brokerUrl: string, target: string | undefined): LatencyTarget {
  const { host: brokerHost, port: brokerPort } = brokerAddress(brokerUrl);
  if (!target) return { host: brokerHost, port: brokerPort };
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : brokerPort };
  const hp = /^([^:]+):(\d+)$/.exec(target);
  if (hp) return { host: hp[1]!, port: Number(hp[2]) };
  return { host: target, port: brokerPort };
}

/** The ping executable on PATH (or the usual bin dirs), found without spawning anything. */
export function findPing(envPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'ping');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

const NOT_PERMITTED = /operation not permitted|permission denied|socktype|cap_net_raw/i;

export interface LatencyDeps {
  /** process.platform by default. */
  platform?: NodeJS.Platform;
}

export function createLatency(ctx: CollectorContext, deps: LatencyDeps = {}): Collector<'latency'> {
  const { config, log } = ctx;
  const once = logOnce(log);
  const { count, timeoutMs, method } = config.latency;
  const target = latencyTarget(config.brokerUrl, config.latency.target);
  // auto: ping on Linux only; the flags and the summary are those of iputils ping (macOS's -W
  // counts milliseconds, Windows' ping has other flags altogether), so elsewhere the TCP probe.
  const platform = deps.platform ?? process.platform;
  let ping = method === 'tcp' || (method === 'auto' && platform !== 'linux' && platform !== 'android') ? undefined : findPing();
  if (method === 'icmp' && !ping) log.warn({}, 'latency.method is icmp but no ping binary was found: using the TCP connect time');
  let aborter = new AbortController();

  async function icmp(pingFile: string): Promise<Reading<'latency'> | undefined> {
    const waitSec = Math.max(1, Math.ceil(timeoutMs / 1000));
    const started = performance.now();
    const res = await runBounded(pingFile, ['-n', '-q', '-c', String(count), '-W', String(waitSec), target.host], {
      timeoutMs: count * 1000 + waitSec * 1000 + 2000,
      maxBufferBytes: 64 * 1024,
      signal: aborter.signal,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const elapsed = Math.round(performance.now() - started);
    const summary = parsePingSummary(res.stdout);
    if (!summary) {
      const why = (res.stderr || res.stdout).trim().split('\n')[0] ?? `exit code ${res.code}`;
      if (NOT_PERMITTED.test(why)) {
        once.log('icmp:denied', 'warn', { reason: why }, 'ping is not permitted here: measuring the TCP connect time instead');
        return undefined;
      }
      throw new SensorError(`ping ${target.host} gave no summary: ${why}`);
    }
    const reading: Reading<'latency'> = {
      method: 'icmp',
      packetsTransmitted: summary.transmitted,
      packetsReceived: summary.received,
      packetLossPercent: summary.lossPercent,
      requestDurationMs: elapsed,
    };
    if (summary.minMs !== undefined) reading.minRttMs = summary.minMs;
    if (summary.avgMs !== undefined) reading.meanRttMs = summary.avgMs;
    if (summary.maxMs !== undefined) reading.maxRttMs = summary.maxMs;
    if (summary.mdevMs !== undefined) reading.mdevRttMs = summary.mdevMs;
    return reading;
  }

  async function tcp(): Promise<Reading<'latency'>> {
    const started = performance.now();
    const { address } = await lookup(target.host);
    const samples: number[] = [];
    for (let i = 0; i < count && !aborter.signal.aborted; i++) {
      const ms = await tcpConnectTime(address, target.port, timeoutMs, aborter.signal);
      if (ms !== undefined) samples.push(ms);
    }
    const reading: Reading<'latency'> = {
      method: 'tcp',
      packetsTransmitted: count,
      packetsReceived: samples.length,
      packetLossPercent: ((count - samples.length) / count) * 100,
      requestDurationMs: Math.round(performance.now() - started),
    };
    const stats = rttStats(samples);
    if (stats) Object.assign(reading, { minRttMs: stats.minMs, meanRttMs: stats.avgMs, maxRttMs: stats.maxMs, mdevRttMs: stats.mdevMs });
    return reading;
  }

  return {
    name: 'latency',
    async collect() {
      if (ping) {
        const reading = await icmp(ping);
        if (reading) return reading;
        ping = undefined; // not permitted: TCP from now on
      } else {
        once.log('tcp', 'debug', { host: target.host, port: target.port }, 'no ping binary: latency is the TCP connect time');
      }
      return tcp();
    },
    close() {
      aborter.abort();
      aborter = new AbortController();
    },
  };
}

export const collector: CollectorEntry<'latency'> = {
  defaultEnabled: true,
  create: (ctx) => createLatency(ctx),
};
