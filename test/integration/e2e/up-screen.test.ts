// `machmon up` on a terminal (tmux): a few lines a person reads and a status line every few
// seconds, no JSON on the screen, the full JSON log in ./data/machmon.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../testkit/ports.js';
import { MACHMON } from '../../../testkit/repo.js';
import { waitFor } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const socket = `machmon-up-screen-${process.pid}`;
const cwd = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-screen-'));
const tmux = (...args: string[]) => {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

afterAll(() => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(cwd, { recursive: true, force: true });
});

describe('machmon up on a terminal', () => {
  it('prints where things are and a status line, keeps the JSON log in ./data/machmon.log, and stops on Ctrl-C', async () => {
    const port = await freePort();
    const env = `MACHMON_BROKER_HOST=127.0.0.1 MACHMON_BROKER_PORT=${port} MACHMON_INFLUXD_PORT=${new URL(influxUrl).port} MACHMON_INGESTOR_INFLUX_DATABASE=t_screen_${process.pid} MACHMON_AGENT_INTERVAL_MS=1000`;
    tmux('new-session', '-d', '-s', 'up', '-x', '160', '-y', '40', `cd ${cwd} && env ${env} ${process.execPath} ${MACHMON} up; echo UP-EXIT=$?; sleep 120`);
    const status = /\d\d:\d\d:\d\d {2}1\/1 hosts online {2}readings\/s [\d.]+ received, [\d.]+ stored {2}0 rejected {2}InfluxDB ok {2}largest outbox \d+ \(/;
    let screen = '';
    await waitFor('a status line with the host online and InfluxDB ok', () => status.test((screen = tmux('capture-pane', '-p', '-t', 'up'))), 30_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n--- screen ---\n${screen}`);
    });
    expect(screen).toContain('fleet password');
    expect(screen).toContain('machmon up is running (Ctrl-C stops it).');
    expect(screen).toMatch(/InfluxDB {2}http:\/\/127\.0\.0\.1:\d+ \(found running; used as it is\)/);
    expect(screen).toContain('log       ./data/machmon.log');
    expect(screen).toContain('npx machmon top');
    expect(screen, 'no JSON log lines on the screen').not.toContain('"level"');

    const logFile = path.join(cwd, 'data/machmon.log');
    expect(existsSync(logFile)).toBe(true);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['collectors started', 'using the InfluxDB already running']));

    tmux('send-keys', '-t', 'up', 'C-c');
    await waitFor('up to exit 0', () => tmux('capture-pane', '-p', '-t', 'up').includes('UP-EXIT=0'), 20_000, 250);
  }, 60_000);
});
