// kill -9 of a real agent process, then a restart on the same dataDir: nothing confirmed is
// sent again, everything unconfirmed is, and seq keeps increasing. The child runs startAgent
// from an esbuild bundle of the sources (as the Pi bundle is built), targeting Node 18.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Observer } from './observer.js';
import { startPlainBroker, type PlainBroker } from '../../../../testkit/aedes.js';
import { sleep, waitFor } from '../../../../testkit/wait.js';
import { REPO } from '../../../../testkit/repo.js';

const HOST = 'pi-kill';
let bundle: string;
let dataDir: string;
let broker: PlainBroker;
let observer: Observer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const outDir = path.join(REPO, 'dist', '.test');
  bundle = path.join(outDir, `agent-child-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(import.meta.dirname, 'fixtures/agent-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    packages: 'external',
    outfile: bundle,
    logLevel: 'error',
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'machmon-kill-'));
  broker = await startPlainBroker();
  observer = await Observer.connect(broker.url);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await observer?.close();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(bundle, { force: true });
});

async function spawnAgent(gen: number): Promise<ChildProcess> {
  const config = { brokerUrl: broker.url, hostname: HOST, password: 'pw', system: 'TestOS', dataDir, intervalMs: 60_000, reconnect: { minMs: 100, maxMs: 400 }, metrics: { agentHealth: { enabled: false } }, outbox: { confirmTimeoutMs: 60_000, replayPerSecond: 200 } };
  const child = spawn(process.execPath, [bundle], { cwd: REPO, env: { PATH: process.env.PATH ?? '', AGENT_CONFIG: JSON.stringify(config), GEN: String(gen) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('child agent to start', () => out.includes('started') || child.exitCode !== null, 10_000);
  if (!out.includes('started')) throw new Error(`child agent failed:\n${out}`);
  return child;
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

describe('agent process killed with SIGKILL', () => {
  it('re-sends exactly the unconfirmed readings after a restart, and seq keeps increasing', async () => {
    observer.confirmIf = (s) => s.header.seq! % 2 === 1;
    const first = await spawnAgent(1);
    await waitFor('readings of the first run', () => observer.readings.length >= 30, 10_000);
    observer.confirmIf = () => false;
    await sleep(300); // let the agent take in the confirmations already sent
    first.kill('SIGKILL');
    await exited(first);
    await waitFor('Last Will', () => observer.statuses.some((s) => s.value === 'offline'), 5000);

    const before = observer.readings.slice();
    const confirmed = new Set(observer.confirmed);
    const unconfirmed = [...new Set(before.map((r) => r.header.seq!))].filter((s) => !confirmed.has(s));
    expect(confirmed.size).toBeGreaterThan(5);
    expect(unconfirmed.length).toBeGreaterThan(5);
    const maxBefore = Math.max(...before.map((r) => r.header.seq!));

    observer.confirmIf = () => true;
    const n = observer.readings.length;
    const second = await spawnAgent(2);
    await waitFor('unconfirmed readings re-sent and new ones', () => {
      const again = new Set(observer.readings.slice(n).filter((r) => r.message['total'] === 1).map((r) => r.header.seq!));
      return unconfirmed.every((s) => again.has(s)) && observer.readings.slice(n).filter((r) => r.message['total'] === 2).length >= 5;
    }, 10_000);
    await sleep(300);
    second.kill('SIGKILL');
    await exited(second);

    const after = observer.readings.slice(n);
    const resent = after.filter((r) => r.message['total'] === 1).map((r) => r.header.seq!);
    expect(resent.filter((s) => confirmed.has(s))).toEqual([]);
    for (const s of unconfirmed) expect(resent).toContain(s);
    const fresh = after.filter((r) => r.message['total'] === 2).map((r) => r.header.seq!);
    expect(Math.min(...fresh)).toBeGreaterThan(Math.max(maxBefore, ...resent));
  });
});
