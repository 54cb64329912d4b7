// `npm run bench -- agent [--seconds 60]`: the real agent (`machmon agent`, every group
// every second, publishing to a local mosquitto) next to Debian's prometheus-node-exporter
// scraped once a second, for the same wall time. Prints CPU time per cycle (agent) and per
// scrape (node_exporter), RSS of both and the ratios. The first 5 s (start-up) are not counted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FLEET_METRICS } from './record-payloads.js';
import { cpuBetween, sampleProc, startChild } from './procs.js';
import { MACHMON } from './repo.js';
import { binary, freePort, portOpen, startMosquitto } from './servers.js';

export interface AgentFootprintOptions {
  seconds: number;
}

const WARMUP_MS = 5000;

export async function benchAgent(o: AgentFootprintOptions): Promise<{ line: string; ok: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-bench-agent-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
    stops.push(() => mosquitto.stop());
    const metrics = Object.fromEntries(FLEET_METRICS.map((m) => [m, { enabled: true, intervalMs: 1000 }]));
    const file = path.join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ agent: { brokerUrl: `mqtt://127.0.0.1:${mosquitto.port}`, hostname: 'bench-agent', password: 'x', intervalMs: 1000, metrics, dataDir: path.join(dir, 'agent') }, log: { level: 'warn' } }));
    const agent = startChild('machmon-agent', process.execPath, [MACHMON, 'agent', '--config', file], path.join(dir, 'agent.log'));
    stops.unshift(() => agent.stop());

    const nePort = await freePort();
    const ne = startChild('node_exporter', binary('prometheus-node-exporter'), [`--web.listen-address=127.0.0.1:${nePort}`], path.join(dir, 'node-exporter.log'));
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

    console.log(`agent footprint: machmon agent (${FLEET_METRICS.length} groups every 1 s) vs prometheus-node-exporter scraped every 1 s, ${o.seconds} s`);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const a0 = sampleProc(agent.pid);
    const n0 = sampleProc(ne.pid);
    const s0 = scrapes;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const a1 = sampleProc(agent.pid);
    const n1 = sampleProc(ne.pid);
    const cycles = (Date.now() - t0) / 1000;
    const scraped = scrapes - s0;
    scraping = false;
    await scrapeLoop;
    if (!a1) throw new Error(`the agent is not running:\n${agent.tail()}`);

    const agentMs = (cpuBetween(a0, a1) * 1000) / cycles;
    const neMs = (cpuBetween(n0, n1) * 1000) / Math.max(1, scraped);
    const agentRssMb = a1.rssKb / 1024;
    const neRssMb = (n1?.rssKb ?? NaN) / 1024;
    console.log(`  machmon agent:  ${agentMs.toFixed(2)} ms CPU per cycle (${cycles.toFixed(0)} cycles), RSS ${agentRssMb.toFixed(1)} MB (peak ${(a1.peakRssKb / 1024).toFixed(1)} MB)`);
    console.log(`  node_exporter:  ${neMs.toFixed(2)} ms CPU per scrape (${scraped} scrapes of ${(scrapeBytes / 1024).toFixed(0)} KB), RSS ${neRssMb.toFixed(1)} MB (peak ${((n1?.peakRssKb ?? NaN) / 1024).toFixed(1)} MB)`);
    const ok = agentMs <= neMs && agentRssMb <= 45;
    const line = `SUMMARY agent cpu=${agentMs.toFixed(2)}ms/cycle node_exporter=${neMs.toFixed(2)}ms/scrape ratio=${(agentMs / neMs).toFixed(2)} rss=${agentRssMb.toFixed(1)}MB node_exporter_rss=${neRssMb.toFixed(1)}MB rss_ratio=${(agentRssMb / neRssMb).toFixed(2)} ${ok ? 'OK' : 'GOALS-MISSED'} (goals: cpu ratio <= 1, rss <= 45 MB)`;
    return { line, ok };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
