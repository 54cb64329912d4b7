// Starts Debian's victoria-metrics on a free loopback port with its data in a temp dir (never
// as a system service): the test target of the ingestor's InfluxDB v2 write path.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface VictoriaMetrics {
  readonly url: string;
  /** Makes everything written so far searchable. */
  flush(): Promise<void>;
  /** Series matching a selector, from /api/v1/export (one JSON object per series). */
  exportSeries(match: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  destroy(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-loggerLevel=ERROR', '-memory.allowedPercent=5', '-search.latencyOffset=0s'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`victoria-metrics did not answer /health within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    flush: async () => {
      await (await fetch(`${url}/internal/force_flush`)).arrayBuffer();
    },
    exportSeries: async (match) => {
      const r = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`);
      const text = await r.text();
      if (!r.ok) throw new Error(`export ${match}: HTTP ${r.status} ${text}`);
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    },
    destroy: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
