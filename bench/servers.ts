// The real servers of the benchmarks and the scale-out tests, each its own process on
// 127.0.0.1: `machmon broker` and `machmon ingestor` (the compiled CLI), Debian's mosquitto
// and redis-server. Each start resolves once the server is ready and rejects with its last
// output when it is not within the time allowed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../testkit/ports.js';
import type { Program } from '../testkit/processes.js';
import { startChild } from './procs.js';

export { freePort };
import { MACHMON } from '../testkit/repo.js';


async function until(what: string, child: Program, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running) throw new Error(`${child.name} exited (${child.exit?.code ?? child.exit?.signal}) before ${what}:\n${child.output()}`);
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await child.stop();
  throw new Error(`${child.name}: not ${what} within ${timeoutMs} ms:\n${child.output()}`);
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function binary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
    if (existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${name} is missing: run \`npm run bench\` as root (scripts/ensure.mjs installs it) or install its Debian package`);
}

export type Server = Program & { readonly port: number };

/** `machmon broker` with the given broker section (port 0 is replaced by a free port). */
/** Set MACHMON_BENCH_PROFILE=<dir> to run broker and ingestor under --cpu-prof (profiles written there on exit). */
function nodeFlags(): string[] {
  const dir = process.env['MACHMON_BENCH_PROFILE'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** `nodeArgs`: Node flags of the child's own (e.g. the soak's `--import` memory probe), before the CLI. */
export async function startMachmonBroker(dir: string, broker: Record<string, unknown>, name = 'machmon-broker', logLevel = 'warn', nodeArgs: readonly string[] = []): Promise<Server> {
  const port = (broker['port'] as number | undefined) || (await freePort());
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ broker: { host: '127.0.0.1', dataDir: path.join(dir, `${name}-data`), ...broker, port }, log: { level: logLevel } }, null, 1));
  const child = await startChild(name, process.execPath, [...nodeFlags(), ...nodeArgs, MACHMON, 'broker', '--config', file], path.join(dir, `${name}.log`));
  await until('listening', child, () => portOpen(port), 30_000);
  return Object.assign(child, { port });
}

/**
 * `machmon ingestor` with the given ingestor section; ready once it logged "subscribed" (a
 * fresh session) or connected with a stored one. Logs at info to see that line.
 */
export async function startMachmonIngestor(dir: string, ingestor: Record<string, unknown>, name = 'machmon-ingestor', nodeArgs: readonly string[] = []): Promise<Program> {
  const file = path.join(dir, `${name}.json`);
  const logFile = path.join(dir, `${name}.log`);
  writeFileSync(file, JSON.stringify({ ingestor: { dataDir: path.join(dir, `${name}-data`), ...ingestor }, log: { level: 'info' } }, null, 1));
  const child = await startChild(name, process.execPath, [...nodeFlags(), ...nodeArgs, MACHMON, 'ingestor', '--config', file], logFile);
  await until('subscribed', child, () => /"msg":"subscribed"|"sessionPresent":true/.test(child.output(200)) || (existsSync(logFile) && /"msg":"subscribed"|"sessionPresent":true/.test(readFileSync(logFile, 'utf8'))), 30_000);
  return child;
}

/**
 * Debian's mosquitto with `lines` added to a config that listens on 127.0.0.1:<port>.
 * Always set: no limit on queued or in-flight QoS 1 messages (its defaults, 1000 queued and
 * 20 in flight per client, drop or throttle under a fleet's load).
 */
export async function startMosquitto(dir: string, lines: string[] = [], name = 'mosquitto'): Promise<Server> {
  const port = await freePort();
  const conf = path.join(dir, `${name}.conf`);
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'max_queued_messages 0', 'max_inflight_messages 0', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ...lines, ''].join('\n'));
  const child = await startChild(name, binary('mosquitto'), ['-c', conf], path.join(dir, `${name}.log`));
  await until('listening', child, () => portOpen(port), 15_000);
  return Object.assign(child, { port });
}

/** Debian's redis-server, in memory only (no RDB or AOF files). */
export async function startRedis(dir: string, name = 'redis'): Promise<Server> {
  const port = await freePort();
  const child = await startChild(name, binary('redis-server'), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'], path.join(dir, `${name}.log`));
  await until('listening', child, () => portOpen(port), 15_000);
  return Object.assign(child, { port });
}

/** Debian's mosquitto with a complete config file of its own (e.g. one from `machmon mosquitto-config`) that listens on `port`. */
export async function startMosquittoWithConf(dir: string, conf: string, port: number, name = 'mosquitto'): Promise<Server> {
  const child = await startChild(name, binary('mosquitto'), ['-c', conf], path.join(dir, `${name}.log`));
  await until('listening', child, () => portOpen(port), 15_000);
  return Object.assign(child, { port });
}
