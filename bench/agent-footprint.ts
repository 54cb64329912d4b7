// `npm run bench -- agent [--seconds 60]`: what the agent costs on a Pi, measured the way the Pi
// runs it (README "Deploy on a Pi", Footprint): the Pi bundle (scripts/build-agent.mjs, built
// for the run) started with the Node flags of deploy/systemd/machmon-agent.service, every group
// every second, connected to a real broker (mosquitto) and publishing, its readings confirmed
// the way the ingestor confirms them (a client here plays the ingestor: it takes each reading's
// seq and publishes the ranges on confirm/stored, so the outbox write path and confirmation
// handling run as in production). Beside it, in the same run: Debian's
// prometheus-node-exporter scraped once a second, and an empty `node` with the same flags
// (the runtime's own RSS). Prints CPU per cycle against CPU per scrape, RSS over the empty
// runtime, the goals, and a last line GOALS-MET or GOALS-MISSED.
// Second source (agent.source, README "Other systems: macOS and Windows"): in the same run an
// agent from the checkout (bin/machmon.js, as `npm i -g` installs it on a Mac or a PC) with
// agent.source systeminformation and the same groups every second: its CPU per cycle, with the
// tools systeminformation spawns (children's CPU, cutime + cstime) and without, beside the procfs
// bundle's. In both agents perf_hooks.monitorEventLoopDelay measures the longest event-loop pause
// (bench/loop-delay-preload.mjs, after the warm-up). Figures on this shared 2-core machine are
// noisy: compare the ratios of one run.
// MACHMON_BENCH_NODE=/path/to/node runs the bundle and the empty runtime on another Node (18);
// MACHMON_BENCH_PROFILE=<dir> writes the agent's CPU profile there (npm run bench -- profile-top <file>).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { confirmPayloads } from '../common/confirm.js';
import { HeaderType, METRIC_NAMES } from '../common/schema.js';
import { confirmTopic } from '../common/topics.js';
import { cpuBetween, cpuWithChildrenBetween, sampleProc, startChild } from './procs.js';
import type { Program } from '../testkit/processes.js';
import { REPO } from '../testkit/repo.js';
import { binary, freePort, portOpen, startMosquitto } from './servers.js';

export interface AgentFootprintOptions {
  seconds: number;
}

/** The issue's goals: no more CPU per full cycle than node_exporter per scrape, and little memory over the runtime. */
export const GOALS = { cpuRatio: 1.0, rssOverEmptyMb: 5, loopPauseMs: 100 } as const;
const WARMUP_MS = 5000;
const HOST = 'bench-agent';
const SI_HOST = 'bench-agent-si';
const PRELOAD = path.join(REPO, 'bench/loop-delay-preload.mjs');
const MACHMON = path.join(REPO, 'bin/machmon.js');

interface LoopDelay { maxMs: number; p99Ms: number; meanMs: number; count: number }
function readLoop(file: string): LoopDelay | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
  } catch {
    return undefined;
  }
}
const UNIT = path.join(REPO, 'deploy/systemd/machmon-agent.service');

/** The Node flags of the unit's ExecStart: what comes between the node binary and the bundle. */
export function unitNodeFlags(unitText: string): string[] {
  const exec = /^ExecStart=(\S+)\s+(.*?)\s+(\S+machmon-agent\.cjs)\b/m.exec(unitText);
  if (!exec) throw new Error('no "ExecStart=<node> <flags> …/machmon-agent.cjs" line in the unit');
  return exec[2]!.split(/\s+/).filter(Boolean);
}

export interface PiAgent {
  /** The bundle as the Pi runs it (/opt/machmon/machmon-agent.cjs). */
  bundle: string;
  /** The Node flags of the unit's ExecStart. */
  flags: string[];
}

/** Builds the Pi bundle (scripts/build-agent.mjs) into <dir>/build and reads the unit's Node flags. */
export function buildPiAgent(dir: string): PiAgent {
  const build = spawnSync(process.execPath, [path.join(REPO, 'scripts/build-agent.mjs'), '--out', path.join(dir, 'build')], { cwd: REPO, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build-agent failed:\n${build.stdout}\n${build.stderr}`);
  return { bundle: path.join(dir, 'build', 'machmon-agent.cjs'), flags: unitNodeFlags(readFileSync(UNIT, 'utf8')) };
}

/**
 * Starts the bundle the way the unit does (its Node flags, then `nodeArgs`), with `agent` as
 * its agent section (clock sync off: nothing to synchronise with here; data under <dir>/agent)
 * in <dir>/agent.json, its output in <dir>/agent.log.
 */
export async function startPiAgent(dir: string, pi: PiAgent, agent: Record<string, unknown>, o: { node?: string; nodeArgs?: readonly string[]; logLevel?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Program> {
  const file = path.join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({ agent: { clock: { sync: 'none' }, dataDir: path.join(dir, 'agent'), ...agent }, log: { level: o.logLevel ?? 'warn' } }));
  return startChild('machmon-agent', o.node ?? process.execPath, [...pi.flags, ...(o.nodeArgs ?? []), pi.bundle, '--config', file], path.join(dir, 'agent.log'), o.env);
}

/** Reads the first field (the header) of a reading and returns its seq, without decoding the rest. */
function seqOf(payload: Buffer): number | undefined {
  // Field 1, wire type 2 (length-delimited): tag byte 0x0a, then a varint length.
  if (payload[0] !== 0x0a) return undefined;
  let len = 0;
  let shift = 0;
  let p = 1;
  for (; p < payload.length; p++) {
    len |= (payload[p]! & 0x7f) << shift;
    shift += 7;
    if (!(payload[p]! & 0x80)) break;
  }
  const header = HeaderType.decode(payload.subarray(p + 1, p + 1 + len)) as unknown as { seq?: number };
  return header.seq === undefined ? undefined : Number(header.seq);
}

export async function benchAgent(o: AgentFootprintOptions): Promise<{ line: string; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-bench-agent-'));
  const stops: (() => Promise<void>)[] = [];
  const node = process.env.MACHMON_BENCH_NODE ?? process.execPath;
  try {
    const { bundle, flags } = buildPiAgent(dir);
    const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();

    const mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
    stops.push(() => mosquitto.stop());
    const brokerUrl = `mqtt://127.0.0.1:${mosquitto.port}`;

    // The ingestor's part: every reading's seq confirmed stored, in ranges, once per its default
    // flush interval (ingestor.flushIntervalMs, 1 s), as the ingestor confirms after each write.
    const confirmer = await mqtt.connectAsync(brokerUrl, { clientId: 'bench-confirmer', protocolVersion: 4 });
    stops.push(() => confirmer.endAsync());
    const pending = new Map<string, number[]>([[HOST, []], [SI_HOST, []]]);
    const received = new Map<string, number>([[HOST, 0], [SI_HOST, 0]]);
    confirmer.on('message', (topic, payload) => {
      const host = topic.split('/')[1]!;
      const seq = seqOf(payload);
      received.set(host, (received.get(host) ?? 0) + 1);
      if (seq !== undefined) pending.get(host)?.push(seq);
    });
    await confirmer.subscribeAsync([`machmon/${HOST}/+`, `machmon/${SI_HOST}/+`], { qos: 1 });
    const confirmTimer = setInterval(() => {
      for (const [host, seqs] of pending) {
        if (!seqs.length) continue;
        for (const p of confirmPayloads(seqs)) void confirmer.publishAsync(confirmTopic(host), p, { qos: 1 });
        pending.set(host, []);
      }
    }, 1000);
    stops.push(async () => clearInterval(confirmTimer));

    const metrics = Object.fromEntries(METRIC_NAMES.map((m) => [m, { enabled: true, intervalMs: 1000 }]));
    const profile = process.env.MACHMON_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.MACHMON_BENCH_PROFILE)}`] : [];
    const loopFile = path.join(dir, 'loop-procfs.json');
    const loopEnv = (f: string) => ({ ...process.env, MACHMON_BENCH_LOOP_FILE: f, MACHMON_BENCH_LOOP_RESET_MS: String(WARMUP_MS) });
    const agent = await startPiAgent(dir, { bundle, flags }, { brokerUrl, hostname: HOST, password: 'x', intervalMs: 1000, metrics }, { node, nodeArgs: ['--import', PRELOAD, ...profile], env: loopEnv(loopFile) });
    stops.unshift(() => agent.stop());
    // The systeminformation source, as installed with npm (the checkout's dist/), every group every
    // second too; its slow calls (processes, interfaces, users) at their default interval.
    const siFile = path.join(dir, 'agent-si.json');
    writeFileSync(siFile, JSON.stringify({ agent: { brokerUrl, hostname: SI_HOST, password: 'x', source: 'systeminformation', intervalMs: 1000, metrics, clock: { sync: 'none' }, dataDir: path.join(dir, 'agent-si') }, log: { level: 'warn' } }));
    const siLoopFile = path.join(dir, 'loop-si.json');
    const siAgent = await startChild('machmon-agent-si', process.execPath, ['--import', PRELOAD, MACHMON, 'agent', '--config', siFile], path.join(dir, 'agent-si.log'), loopEnv(siLoopFile));
    stops.unshift(() => siAgent.stop());
    // With the same preload as the agents, so the RSS over the runtime is the agent's own.
    const empty = await startChild('empty-node', node, [...flags, '--import', PRELOAD, '-e', 'setInterval(() => {}, 1 << 30)'], path.join(dir, 'empty.log'), loopEnv(path.join(dir, 'loop-empty.json')));
    stops.unshift(() => empty.stop());

    const nePort = await freePort();
    const ne = await startChild('node_exporter', binary('prometheus-node-exporter'), [`--web.listen-address=127.0.0.1:${nePort}`], path.join(dir, 'node-exporter.log'));
    stops.unshift(() => ne.stop());
    for (let i = 0; i < 100 && !(await portOpen(nePort)); i++) await new Promise((r) => setTimeout(r, 100));

    let scrapes = 0;
    let scrapeBytes = 0;
    let scraping = true;
    const scrapeLoop = (async () => {
      while (scraping) {
        const t = Date.now();
        try {
          const body = await (await fetch(`http://127.0.0.1:${nePort}/metrics`)).text();
          scrapes++;
          scrapeBytes = body.length;
        } catch { /* counted as missing */ }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
      }
    })();

    console.log(`agent footprint: the Pi bundle on Node ${nodeVersion} (${flags.join(' ')}), ${METRIC_NAMES.length} groups every 1 s, connected to mosquitto with confirmations, vs prometheus-node-exporter scraped every 1 s and an empty node with the same flags, ${o.seconds} s`);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const a0 = sampleProc(agent.pid!);
    const i0 = sampleProc(siAgent.pid!);
    const n0 = sampleProc(ne.pid!);
    const s0 = scrapes;
    const r0 = received.get(HOST)!;
    const ri0 = received.get(SI_HOST)!;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const a1 = sampleProc(agent.pid!);
    const i1 = sampleProc(siAgent.pid!);
    const n1 = sampleProc(ne.pid!);
    const e1 = sampleProc(empty.pid!);
    const cycles = (Date.now() - t0) / 1000;
    const scraped = scrapes - s0;
    const published = received.get(HOST)! - r0;
    const siPublished = received.get(SI_HOST)! - ri0;
    const loop = readLoop(loopFile);
    const siLoop = readLoop(siLoopFile);
    scraping = false;
    await scrapeLoop;
    if (!a1) throw new Error(`the agent is not running:\n${agent.output()}`);
    if (published === 0) throw new Error(`the agent published nothing during the run:\n${agent.output()}`);
    if (!i1) throw new Error(`the systeminformation agent is not running:\n${siAgent.output()}`);
    if (siPublished === 0) throw new Error(`the systeminformation agent published nothing during the run:\n${siAgent.output()}`);

    const agentMs = (cpuBetween(a0, a1) * 1000) / cycles;
    const neMs = (cpuBetween(n0, n1) * 1000) / Math.max(1, scraped);
    const mb = (kb: number | undefined) => (kb ?? NaN) / 1024;
    const ratio = agentMs / neMs;
    const overEmpty = mb(a1.rssKb) - mb(e1?.rssKb);
    console.log(`  machmon agent:  ${agentMs.toFixed(2)} ms CPU per cycle (${cycles.toFixed(0)} cycles, ${published} readings published and confirmed), RSS ${mb(a1.rssKb).toFixed(1)} MB (peak ${mb(a1.peakRssKb).toFixed(1)} MB)`);
    console.log(`  node_exporter:  ${neMs.toFixed(2)} ms CPU per scrape (${scraped} scrapes of ${(scrapeBytes / 1024).toFixed(0)} KB), RSS ${mb(n1?.rssKb).toFixed(1)} MB`);
    console.log(`  empty node:     RSS ${mb(e1?.rssKb).toFixed(1)} MB with the same flags`);
    console.log(`  CPU: ${ratio.toFixed(2)}x node_exporter (goal <= ${GOALS.cpuRatio.toFixed(1)}x); RSS over the empty runtime: ${overEmpty.toFixed(1)} MB (goal <= ${GOALS.rssOverEmptyMb} MB)`);
    const agentAllMs = (cpuWithChildrenBetween(a0, a1) * 1000) / cycles;
    const siMs = (cpuBetween(i0, i1) * 1000) / cycles;
    const siAllMs = (cpuWithChildrenBetween(i0, i1) * 1000) / cycles;
    const pause = (l: LoopDelay | undefined) => (l ? `longest event-loop pause ${l.maxMs.toFixed(0)} ms (p99 ${l.p99Ms.toFixed(0)} ms)` : 'event-loop delay not measured');
    console.log(`  by source, on Linux (agent.source; children = the tools each spawns, e.g. ping, journalctl, ps, df):`);
    console.log(`    procfs (the Pi bundle):        ${agentMs.toFixed(2)} ms CPU per cycle, ${agentAllMs.toFixed(2)} ms with children; ${pause(loop)}`);
    console.log(`    systeminformation (npm agent): ${siMs.toFixed(2)} ms CPU per cycle, ${siAllMs.toFixed(2)} ms with children (${(siAllMs / agentAllMs).toFixed(1)}x procfs); RSS ${mb(i1.rssKb).toFixed(1)} MB; ${siPublished} readings; ${pause(siLoop)}`);
    console.log(`  longest event-loop pause: procfs ${loop ? loop.maxMs.toFixed(0) : '?'} ms, systeminformation ${siLoop ? siLoop.maxMs.toFixed(0) : '?'} ms (goal <= ${GOALS.loopPauseMs} ms each)`);
    const loopOk = !!loop && !!siLoop && loop.maxMs <= GOALS.loopPauseMs && siLoop.maxMs <= GOALS.loopPauseMs;
    const ok = ratio <= GOALS.cpuRatio && overEmpty <= GOALS.rssOverEmptyMb && loopOk;
    const missed = [ratio > GOALS.cpuRatio && 'cpu', overEmpty > GOALS.rssOverEmptyMb && 'rss', !loopOk && 'loop-pause'].filter(Boolean).join(',');
    const line = `SUMMARY agent node=${nodeVersion} cpu=${agentMs.toFixed(2)}ms/cycle node_exporter=${neMs.toFixed(2)}ms/scrape ratio=${ratio.toFixed(2)} rss=${mb(a1.rssKb).toFixed(1)}MB empty=${mb(e1?.rssKb).toFixed(1)}MB over_empty=${overEmpty.toFixed(1)}MB procfs_with_children=${agentAllMs.toFixed(2)}ms/cycle si=${siMs.toFixed(2)}ms/cycle si_with_children=${siAllMs.toFixed(2)}ms/cycle loop_max_procfs=${loop?.maxMs.toFixed(0) ?? '?'}ms loop_max_si=${siLoop?.maxMs.toFixed(0) ?? '?'}ms\n${ok ? 'GOALS-MET' : `GOALS-MISSED: ${missed}`}`;
    return { line, ok };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
