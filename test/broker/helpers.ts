// Shared pieces of the broker tests: a real broker on a random loopback port with its data
// in a temp dir, a logger that keeps its lines in memory, MQTT.js clients and mosquitto
// client processes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { loadConfig, type BrokerConfig } from '../../common/config.js';
import type { Logger } from '../../common/log.js';
import { startBroker, type Broker } from '../../broker/main.js';

export const PASSWORD = 'fleet secret ünïcödé ✓';
/** broker.readerPassword: readers (the ingestor, a person with mosquitto_sub) log in with it, never with the fleet password. */
export const READER_PASSWORD = 'reader secret ✓ not on any Pi';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose JSON lines land in `lines` (parsed). */
export function memoryLogger(level: pino.Level = 'info'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

export interface TestBroker {
  broker: Broker;
  cfg: BrokerConfig;
  lines: LogLine[];
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Broker config as the CLI would load it (defaults from the schema), on 127.0.0.1 port 0. */
export function brokerConfig(dataDir: string, overrides: Record<string, unknown> = {}): BrokerConfig {
  const raw = {
    broker: {
      host: '127.0.0.1',
      port: 0,
      secretPassword: PASSWORD,
      readerPassword: READER_PASSWORD,
      allowedHosts: ['raspberrypi', 'pi-*', 'host-?', 'agent-a', 'agent-b'],
      dataDir,
      authThrottle: { baseDelayMs: 1, maxDelayMs: 20 },
      ...overrides,
    },
  };
  return loadConfig({ raw: raw as never, sections: ['broker'], env: {} }).broker!;
}

export async function startTestBroker(overrides: Record<string, unknown> = {}, opts: { dataDir?: string; keepData?: boolean } = {}): Promise<TestBroker> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-'));
  const cfg = brokerConfig(dataDir, overrides);
  const { log, lines } = memoryLogger();
  const broker = await startBroker(cfg, log);
  return {
    broker,
    cfg,
    lines,
    dataDir,
    url: `mqtt://127.0.0.1:${broker.port}`,
    async stop() {
      await broker.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An MQTT.js client that does not reconnect; resolves once CONNACK 0 arrived, rejects with the refusal. */
export function connect(url: string, username: string | undefined, password: string | undefined, extra: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...extra }, false);
}

/** The CONNACK return code of a refused login (MQTT.js puts it on error.code). */
export async function refusalCode(url: string, username: string | undefined, password: string | undefined): Promise<number> {
  try {
    const c = await connect(url, username, password);
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

export interface ProcResult { code: number | null; stdout: string; stderr: string }

/** Runs a mosquitto client to completion (killed after timeoutMs, which is not an error: mosquitto_sub -W does that itself). */
export function runProc(cmd: string, args: string[], timeoutMs = 10_000): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running mosquitto_sub whose output lines can be awaited. */
export function mosquittoSub(port: number, username: string, password: string, topic: string, extra: string[] = []) {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', username, '-P', password, '-t', topic, '-v', '-q', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    /** Resolves once stdout holds `text`, rejects after timeoutMs. */
    async waitFor(text: string, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`mosquitto_sub did not print "${text}" in ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`);
        await sleep(20);
      }
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until it holds; throws after timeoutMs. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Messages an MQTT.js client receives, as "topic payload" strings. */
export function collect(client: MqttClient): string[] {
  const got: string[] = [];
  client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
  return got;
}

/** The SUBACK return codes for `filters` (MQTT.js rejects when any is 128; the packet is on the error). */
export async function subackCodes(client: MqttClient, filters: string | string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos });
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted;
  }
}

/** Resolves when the client's connection closes. */
export const closeOf = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));
