#!/usr/bin/env node
// Health check of the Machmon server image (Docker HEALTHCHECK; also usable beside systemd):
//   node healthcheck.mjs [broker|ingestor]
// Without an argument the role is read from the command of PID 1 (the container's command).
//   broker:   its MQTT port (MACHMON_BROKER_PORT, default 1883) accepts a TCP connection.
//   ingestor: it holds an established TCP connection to its broker (MACHMON_INGESTOR_BROKER_URL),
//             seen in /proc/net/tcp* without opening a second MQTT session, and InfluxDB
//             (MACHMON_INGESTOR_INFLUX_URL) answers /ping.
// Exit 0 healthy, 1 unhealthy (the reason on stderr). Node standard library only.
/* global fetch, AbortSignal */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const TIMEOUT_MS = 3000;

function roleOfPid1() {
  try {
    const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    return argv.find((a) => a === 'broker' || a === 'ingestor' || a === 'up');
  } catch {
    return undefined;
  }
}

function tcpConnect(host, port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, timeout: TIMEOUT_MS });
    s.once('connect', () => { s.destroy(); resolve(); });
    s.once('timeout', () => { s.destroy(); reject(new Error(`no answer from ${host}:${port} within ${TIMEOUT_MS} ms`)); });
    s.once('error', (err) => reject(new Error(`cannot connect to ${host}:${port}: ${err.code ?? err.message}`)));
  });
}

/** /proc/net/tcp address "0100007F:075B" -> { ip: '127.0.0.1', port: 1883 } (IPv4 only; IPv6 keeps the hex). */
export function parseProcAddress(hex) {
  const [addr, port] = hex.split(':');
  const ip = addr.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(addr.slice(i * 2, i * 2 + 2), 16)).join('.') : addr;
  return { ip, port: parseInt(port, 16) };
}

/** Established TCP connections (remote ends) of this network namespace. */
export function establishedRemotes(texts) {
  const out = [];
  for (const text of texts) {
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[3] === '01') out.push(parseProcAddress(f[2]));
    }
  }
  return out;
}

async function checkBroker() {
  const port = Number(process.env.MACHMON_BROKER_PORT ?? 1883);
  await tcpConnect('127.0.0.1', port);
  return `broker listens on ${port}`;
}

async function checkIngestor() {
  const broker = new URL(process.env.MACHMON_INGESTOR_BROKER_URL ?? 'mqtt://127.0.0.1:1883');
  const port = Number(broker.port || (broker.protocol === 'mqtts:' ? 8883 : 1883));
  const host = broker.hostname.replace(/^\[|\]$/g, '');
  const texts = ['/proc/net/tcp', '/proc/net/tcp6'].map((f) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } });
  let ips = [];
  try { ips = (await lookup(host, { all: true })).map((a) => a.address); } catch { /* match the port alone */ }
  const connected = establishedRemotes(texts).some((r) => r.port === port && (ips.length === 0 || ips.includes(r.ip) || !/^\d+\.\d+\.\d+\.\d+$/.test(r.ip)));
  if (!connected) throw new Error(`no connection to the broker ${host}:${port}`);
  const influx = new URL('/ping', process.env.MACHMON_INGESTOR_INFLUX_URL ?? 'http://127.0.0.1:8086');
  let res;
  try {
    res = await fetch(influx, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`InfluxDB ${influx.origin} does not answer: ${err.cause?.code ?? err.message}`);
  }
  if (res.status !== 204) throw new Error(`InfluxDB ${influx.origin}/ping answered ${res.status}`);
  return `ingestor connected to ${host}:${port}, InfluxDB answers`;
}

async function main() {
  const role = process.argv[2] ?? roleOfPid1();
  const checks = { broker: [checkBroker], ingestor: [checkIngestor], up: [checkBroker, checkIngestor] }[role];
  if (!checks) {
    console.error(`healthcheck: unknown role ${role ?? '(none found in /proc/1/cmdline)'}; pass broker or ingestor`);
    return 1;
  }
  try {
    for (const check of checks) console.log(`healthy: ${await check()}`);
    return 0;
  } catch (err) {
    console.error(`unhealthy: ${err.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(await main());
