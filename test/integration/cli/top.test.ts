// machmon top as a person uses it: in a real terminal (tmux: send-keys, capture-pane) on a
// running `machmon up` with a second agent; and --once / --json against what InfluxDB holds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../../testkit/cli.js';
import { influxRows } from '../../../testkit/influxd.js';
import { freePort, waitForPort } from '../../../testkit/ports.js';
import { machmonProgram, type Program } from '../../../testkit/processes.js';
import { MACHMON } from '../../../testkit/repo.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const db = `t_top_${process.pid}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-top-'));
const configFile = path.join(dir, 'machmon.json');
const socket = `machmon-top-${process.pid}`;
const A = 'pi-top-a';
const B = 'pi-top-b';
let up: Program;
let agentB: Program;

const tmux = (...args: string[]) => {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const screen = () => tmux('capture-pane', '-p', '-t', 'top');
/** Waits for the screen to satisfy `check`, and returns that screen. */
async function screenWhere(what: string, check: (s: string) => boolean, timeoutMs = 20_000): Promise<string> {
  let last = '';
  return waitFor(what, () => {
    last = screen();
    return check(last) ? last : undefined;
  }, timeoutMs, 200).catch((err: Error) => {
    throw new Error(`${err.message}\n--- screen ---\n${last}\n--- up ---\n${up.output(20)}`);
  });
}

/** The table lines of a screen, host -> its columns. */
function table(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === A || cols[0] === B) rows.set(cols[0], cols);
  }
  return rows;
}
const order = (text: string) => [...table(text).keys()];
/** Column index in a table line: HOST STATE FOR AGE CPU% MEM% DISK% TEMP°C ... */
const COL = { state: 1, age: 3, cpu: 4, temp: 7 };
const value = (cols: string[], i: number) => (cols[i] === '-' ? -Infinity : Number.parseFloat(cols[i]!));
const seconds = (s: string) => [...s.matchAll(/(\d+)([dhms])/g)].reduce((t, [, n, u]) => t + Number(n) * { d: 86400, h: 3600, m: 60, s: 1 }[u as 'd']!, 0);

beforeAll(async () => {
  const port = await freePort();
  const password = `top-${process.pid}`;
  const readerPassword = `top-reader-${process.pid}`;
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  writeFileSync(
    configFile,
    JSON.stringify({
      broker: { host: '127.0.0.1', port, secretPassword: password, readerPassword, allowedHosts: ['pi-top-*'], dataDir: path.join(dir, 'broker') },
      ingestor: { brokerUrl, password: readerPassword, influx: { url: influxUrl, database: db }, flushIntervalMs: 200 },
      agent: { brokerUrl, password, hostname: A, intervalMs: 2000, dataDir: path.join(dir, 'agent-a') },
      log: { level: 'warn' },
    }),
  );
  up = machmonProgram({ name: 'up', command: 'up', configFile, cwd: dir });
  agentB = machmonProgram({ name: 'agent-b', command: 'agent', configFile, cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, MACHMON_AGENT_HOSTNAME: B, MACHMON_AGENT_DATA_DIR: path.join(dir, 'agent-b') } });
  await up.start();
  await waitForPort(port);
  await agentB.start();
}, 60_000);

afterAll(async () => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  await agentB?.stop();
  await up?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('machmon top in a terminal', () => {
  it('shows both live agents, sorts on h/c/t/a, follows the window size, shows a killed agent offline, quits on q', async () => {
    tmux('new-session', '-d', '-s', 'top', '-x', '140', '-y', '12', `cd ${dir} && ${process.execPath} ${MACHMON} top --config ${configFile}; echo TOP-EXIT=$?; sleep 120`);
    const both = await screenWhere('both hosts online with CPU values', (s) => {
      const t = table(s);
      return [A, B].every((h) => t.get(h)?.[COL.state] === 'online' && t.get(h)?.[COL.cpu] !== '-');
    });
    expect(both).toContain('2 hosts, 2 online');
    expect(order(both)).toEqual([A, B]);

    const sortedBy = async (key: string, name: string, col: number, direction: 1 | -1, reversed = false) => {
      tmux('send-keys', '-t', 'top', key);
      const s = await screenWhere(`sorted by ${name}`, (x) => x.includes(`sorted by ${name}${reversed ? ' (reversed)' : ''}`) && table(x).size === 2);
      const [first, second] = [...table(s).values()];
      if (col === 0) {
        expect(order(s)).toEqual(reversed ? [B, A] : [A, B]);
        return s;
      }
      const v = (cols: string[]) => (col === COL.age ? seconds(cols[col]!) : value(cols, col));
      expect(direction * (v(first!) - v(second!)), `${name}: ${first!.join(' ')} / ${second!.join(' ')}`).toBeGreaterThanOrEqual(0);
      return s;
    };
    await sortedBy('c', 'cpu', COL.cpu, 1);
    await sortedBy('t', 'temperature', COL.temp, 1);
    await sortedBy('a', 'age', COL.age, 1);
    await sortedBy('h', 'host', 0, 1);
    await sortedBy('h', 'host', 0, 1, true);

    tmux('resize-window', '-t', 'top', '-x', '50', '-y', '8');
    const narrow = await screenWhere('the screen redrawn at 50 columns', (s) => s.split('\n').length <= 9 && s.split('\n')[0]!.length === 50);
    for (const line of narrow.split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    tmux('resize-window', '-t', 'top', '-x', '140', '-y', '12');
    await screenWhere('the screen redrawn at 140 columns', (s) => s.split('\n')[0]!.length > 50 && table(s).size === 2);

    await agentB.signal('SIGKILL');
    const offline = await screenWhere(`${B} offline`, (s) => table(s).get(B)?.[COL.state] === 'offline');
    expect(offline).toMatch(new RegExp(`${B}.*offline.*offline`));
    expect(table(offline).get(A)![COL.state]).toBe('online');
    expect(offline).toContain('2 hosts, 1 online, 1 with problems');

    tmux('send-keys', '-t', 'top', 'q');
    await screenWhere('top to exit 0', (s) => s.includes('TOP-EXIT=0'), 10_000);
  }, 120_000);
});

interface JsonRow { host: string; online: boolean; cpuPercent?: number; memPercent?: number; diskPercent?: number; hottestCelsius?: number; outboxMessages?: number; samples: Record<string, number | undefined> }

describe('machmon top --once and --json', () => {
  it('give the hosts InfluxDB holds, with the values it stored', async () => {
    // Runs after the terminal test: B is offline, A online.
    const hostsInInflux = async () => (await influxRows(influxUrl, db, `SELECT last("online") AS online FROM "Monthly"."Status" GROUP BY "hostname"`)).map((r) => [r.hostname, r.online === 1] as const).sort();
    const json = await runCli(['top', '--json', '--config', configFile], { cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonRow);
    expect(rows.map((r) => [r.host, r.online] as const)).toEqual(await hostsInInflux());

    const a = rows.find((r) => r.host === A)!;
    const at = (measurement: string, t: number | undefined) =>
      waitFor(`${measurement} of ${A} at ${t} in InfluxDB`, async () => {
        const found = await influxRows(influxUrl, db, `SELECT * FROM "Monthly"."${measurement}" WHERE hostname = '${A}' AND time = ${t}ms`);
        return found.length ? found : undefined;
      }, 10_000, 200);
    const [cpu] = await at('Cpu', a.samples.cpu);
    expect(a.cpuPercent).toBe(Math.round((100 - Number(cpu!.idlePercentage)) * 10) / 10);
    const [mem] = await at('Mem', a.samples.mem);
    expect(a.memPercent).toBe(Math.round((Number(mem!.usedMem) / Number(mem!.totalMem)) * 1000) / 10);
    const [disk] = await at('Disk', a.samples.disk);
    expect(a.diskPercent).toBe(disk!.usagePercentDisk);
    const temps = await at('Temperature', a.samples.temperature);
    expect(a.hottestCelsius).toBe(Math.max(...temps.map((r) => Number(r.degrees))));
    const [health] = await at('AgentHealth', a.samples.agentHealth);
    expect(a.outboxMessages).toBe(health!.outboxMessages);

    const once = await runCli(['top', '--once', '--config', configFile], { cwd: dir });
    expect(once.code, once.stderr).toBe(0);
    const t = table(once.stdout);
    expect([...t.entries()].map(([h, cols]) => [h, cols[COL.state] === 'online'] as const).sort()).toEqual(await hostsInInflux());
    // The shown CPU is one of the last readings InfluxDB stored (the newest may still be on its way).
    const shown = t.get(A)![COL.cpu];
    let recent: string[] = [];
    await waitFor(`CPU ${shown} of ${A} among the last stored`, async () => {
      const rows = await influxRows(influxUrl, db, `SELECT "idlePercentage" FROM "Monthly"."Cpu" WHERE hostname = '${A}' ORDER BY time DESC LIMIT 5`);
      recent = rows.map((r) => (100 - Number(r.idlePercentage)).toFixed(1));
      return recent.includes(shown!);
    }, 10_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}: stored ${recent.join(', ')}`);
    });
  }, 60_000);

  it('a wrong password or no config is a clear error, not a hang', async () => {
    const { port } = (JSON.parse(readFileSync(configFile, 'utf8')) as { broker: { port: number } }).broker;
    const bad = await runCli(['top', '--once', '--url', `mqtt://127.0.0.1:${port}`, '--password', 'wrong'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/refused the login of ingestor/);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const none = await runCli(['top', '--once'], { cwd: empty });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--url, --user and --password');
  }, 30_000);
});

