// `npm run bench -- record`: runs the agent's real collectors once on this machine and once
// on the fixture trees recorded on Raspberry Pis (test/fixtures/), and keeps each reading
// (without its header) in bench/payloads/<profile>.json. The fleet load generator publishes
// these, each with a fresh header per simulated agent, so multi-row groups (processes,
// partitions, interfaces, log lines) have the sizes real agents send.
//
// Groups that need two samples (cpu, ioRatio: rates since the last sample; logs: new lines
// since the last sample) are collected twice; for logs a recorded syslog is appended between
// the two samples, since a fresh tail starts at the end of the file.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { COLLECTORS, type CollectedMetric } from '../agent/collectors/index.js';
import { NoDataError, type Reading } from '../agent/collectors/types.js';
import { makePaths } from '../agent/paths.js';
import { loadConfig } from '../common/config.js';
import { silentLogger } from '../common/log.js';
import { encodeMetric, type MetricMessages } from '../common/schema.js';
import { PAYLOADS_DIR, REPO } from './repo.js';

/** The 13 groups of README "Metric groups" (piHealth and agentHealth are extras of this project). */
export const FLEET_METRICS = [
  'cpusNumber', 'cpu', 'mem', 'disk', 'temperature', 'partitions', 'ioRatio', 'logs',
  'processesNumber', 'process', 'latency', 'networkMetrics', 'systemAdditionalInfo',
] as const satisfies readonly CollectedMetric[];
export type FleetMetric = (typeof FLEET_METRICS)[number];

export interface PayloadProfile {
  profile: string;
  recordedAt: string;
  /** Where each reading came from (root directory of the collector run). */
  sources: Record<FleetMetric, string>;
  readings: { [M in FleetMetric]: Reading<M> };
}

const TWO_SAMPLES = new Set<FleetMetric>(['cpu', 'ioRatio', 'logs']);
const SYSLOG_FIXTURE = path.join(REPO, 'test/agent/collectors-b/fixtures/syslog-pi-traditional.txt');

interface Tree { label: string; rootDir: string; sysfsRoot: string }

async function collectOnce<M extends FleetMetric>(metric: M, tree: Tree, latencyTarget: string): Promise<Reading<M>> {
  const config = loadConfig({
    raw: { agent: { password: 'x', hostname: 'bench', rootDir: tree.rootDir, temperature: { sysfsRoot: tree.sysfsRoot, sources: ['w1', 'thermal', 'mock'] }, latency: { target: latencyTarget, method: 'tcp' }, metrics: { process: { top: 10 } } } },
    sections: ['agent'],
    env: {},
  }).agent!;
  const entry = COLLECTORS[metric];
  const collector = entry.create({ config, paths: makePaths(tree.rootDir, tree.sysfsRoot), log: silentLogger });
  try {
    if (TWO_SAMPLES.has(metric)) {
      // The first sample only sets the starting point (and may have nothing to report).
      await collector.collect().catch((err: unknown) => {
        if (!(err instanceof NoDataError)) throw err;
      });
      if (metric === 'logs') appendFileSync(path.join(tree.rootDir, 'var/log/syslog'), readFileSync(SYSLOG_FIXTURE));
      else await new Promise((r) => setTimeout(r, 1000));
    }
    return await collector.collect();
  } finally {
    await collector.close?.();
  }
}

/** A root tree made of fixture folders (later ones on top) plus an empty var/log/syslog. */
function overlay(parts: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'machmon-record-'));
  for (const p of parts) cpSync(path.join(REPO, 'test/fixtures', p), root, { recursive: true });
  mkdirSync(path.join(root, 'var/log'), { recursive: true });
  writeFileSync(path.join(root, 'var/log/syslog'), '');
  return root;
}

export async function recordPayloads(): Promise<string[]> {
  // The TCP latency probe needs something that accepts connections.
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const logsRoot = overlay([]);
  const piRoot = overlay(['proc/x86', 'proc/pi4', 'sys/net-pi4']);
  const profiles: Record<string, Tree[]> = {
    // This machine, live; logs from a recorded Pi syslog (this container has none).
    x86: [{ label: '/ (this machine)', rootDir: '/', sysfsRoot: '/' }, { label: 'test/agent/collectors-b/fixtures/syslog-pi-traditional.txt', rootDir: logsRoot, sysfsRoot: '/' }],
    // Raspberry Pi 4 fixtures where they exist (meminfo, mounts, cpuinfo, interfaces, thermal), x86 recordings for the rest.
    pi4: [
      { label: 'test/fixtures/{proc/x86,proc/pi4,sys/net-pi4} + sys/pi4', rootDir: piRoot, sysfsRoot: path.join(REPO, 'test/fixtures/sys/pi4') },
      { label: '/ (this machine)', rootDir: '/', sysfsRoot: '/' },
    ],
  };
  const written: string[] = [];
  try {
    for (const [profile, trees] of Object.entries(profiles)) {
      const readings: Partial<Record<FleetMetric, unknown>> = {};
      const sources: Partial<Record<FleetMetric, string>> = {};
      for (const metric of FLEET_METRICS) {
        const errors: string[] = [];
        for (const tree of trees) {
          try {
            const reading = await collectOnce(metric, tree, target);
            if (metric === 'logs' && ((reading as Reading<'logs'>).rows?.length ?? 0) === 0) throw new Error('no log lines');
            encodeMetric(metric, { ...reading, header: { hostname: 'x' } } as MetricMessages[typeof metric]); // must encode
            readings[metric] = reading;
            sources[metric] = tree.label;
            break;
          } catch (err) {
            errors.push(`${tree.label}: ${(err as Error).message}`);
          }
        }
        if (!readings[metric]) throw new Error(`record ${profile}/${metric}: no tree gave a reading:\n  ${errors.join('\n  ')}`);
      }
      const out: PayloadProfile = { profile, recordedAt: new Date().toISOString(), sources: sources as PayloadProfile['sources'], readings: readings as PayloadProfile['readings'] };
      const file = path.join(PAYLOADS_DIR, `${profile}.json`);
      mkdirSync(PAYLOADS_DIR, { recursive: true });
      writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
      written.push(file);
    }
  } finally {
    server.close();
    rmSync(logsRoot, { recursive: true, force: true });
    rmSync(piRoot, { recursive: true, force: true });
  }
  return written;
}

export function loadProfiles(): PayloadProfile[] {
  return ['x86', 'pi4'].map((p) => JSON.parse(readFileSync(path.join(PAYLOADS_DIR, `${p}.json`), 'utf8')) as PayloadProfile);
}
