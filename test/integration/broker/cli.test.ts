// `machmon broker --config <file>` as a user runs it (the compiled dist/): it logs its
// port, admits mosquitto clients, and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { MACHMON, REPO } from '../../../testkit/repo.js';
import { mosquittoSub } from '../../../testkit/mosquitto.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { runProc } from '../../../testkit/processes.js';
import { waitFor } from '../../../testkit/wait.js';

it('runs from the CLI, serves mosquitto clients and stops on SIGTERM', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-cli-'));
  const config = path.join(dir, 'machmon.json');
  writeFileSync(config, JSON.stringify({ broker: { host: '127.0.0.1', port: 0, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, dataDir: path.join(dir, 'data') } }));
  const child = spawn(process.execPath, [MACHMON, 'broker', '--config', config], { cwd: REPO, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitFor('broker listening', () => stdout.includes('broker listening'), 10_000);
    const started = stdout.split('\n').map((l) => JSON.parse(l || '{}') as { msg?: string; port?: number }).find((l) => l.msg === 'broker listening')!;
    expect(started.port).toBeGreaterThan(0);

    const sub = mosquittoSub(started.port!, 'ingestor', READER_PASSWORD, 'machmon/#');
    try {
      for (let i = 0; i < 50 && !sub.stdout.includes('online'); i++) {
        await runProc('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(started.port), '-u', 'raspberrypi', '-P', PASSWORD, '-t', 'machmon/raspberrypi/status', '-m', 'online', '-q', '1']);
        await new Promise((r) => setTimeout(r, 100));
      }
      await sub.waitFor('machmon/raspberrypi/status online');
    } finally {
      await sub.stop();
    }
    const refused = await runProc('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(started.port), '-u', 'raspberrypi', '-P', 'wrong', '-t', 'machmon/raspberrypi/status', '-m', 'x']);
    expect(refused.stderr).toContain('bad user name or password');
    await waitFor('the refusal logged', () => stdout.includes('login refused'));
    expect(stdout).not.toContain(PASSWORD);
    expect(stdout).not.toContain(READER_PASSWORD);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('broker stopped');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
