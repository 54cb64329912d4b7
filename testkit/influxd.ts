// Starts Debian's influxd (1.6.x) on free loopback ports with its data in a temp dir.
// The global setup starts one shared instance; tests that stop or kill InfluxDB start their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { findInfluxd, influxdConf, influxdEnv } from '../cli/influxd.js';

export interface Influxd {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server (SIGTERM, or SIGKILL with kill=true); the data stays for start(). */
  stop(kill?: boolean): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** Debian's influxd, as `machmon up` finds it. */
export function influxdBinary(): string {
  const bin = findInfluxd();
  if (!bin) throw new Error('influxd is missing: run `npm test` as root (it installs Debian\'s influxdb package) or `sudo apt-get install -y influxdb`');
  return bin;
}

export async function startInfluxd(): Promise<Influxd> {
  const bin = influxdBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-influxd-'));
  const port = await freePort();
  const conf = path.join(dir, 'influxdb.conf');
  // The same config and environment as machmon up's own influxd: everything under dir, loopback only.
  writeFileSync(conf, influxdConf(dir, port));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    log = '';
    child = spawn(bin, ['run', '-config', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: influxdEnv() });
    child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}:\n${log}`);
      try {
        const r = await fetch(`${url}/ping`);
        if (r.status === 204) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`influxd did not answer /ping within 30 s:\n${log}`);
  };
  const stop = async (kill = false) => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    port,
    dir,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface QueryResult { series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]; error?: string }

/** Runs InfluxQL over the v1 /query API and returns the first statement's result. */
export async function influxQuery(url: string, db: string, q: string): Promise<QueryResult> {
  const r = await fetch(`${url}/query?${new URLSearchParams({ db, q, epoch: 'ms' })}`);
  const body = (await r.json()) as { results?: QueryResult[]; error?: string };
  if (!r.ok || body.error) throw new Error(`influx query failed (${r.status}): ${body.error ?? JSON.stringify(body)}\n${q}`);
  return body.results?.[0] ?? {};
}

/** Rows of a query as objects keyed by column (tags of grouped series merged in). */
export async function influxRows(url: string, db: string, q: string): Promise<Record<string, unknown>[]> {
  const res = await influxQuery(url, db, q);
  if (res.error) throw new Error(`influx query error: ${res.error}\n${q}`);
  return (res.series ?? []).flatMap((s) => s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })));
}
