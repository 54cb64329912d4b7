// Changing the fleet without a restart (README "Security model"): `machmon broker` as a user
// runs it (the compiled dist/), its config file edited and SIGHUP sent, as
// `systemctl reload machmon-broker` does. Revoked hosts, hosts no longer allowed, logins of an
// auth mode no longer accepted and readers no longer listed are dropped and refused from then
// on; an invalid config is refused with the start's own message and the old one stays.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKey } from '../../../broker/credentials.js';
import { MACHMON, REPO } from '../../../testkit/repo.js';
import { brokerConfig, PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { closeOf, connect, refusalCode, startTestBroker } from '../../../testkit/broker.js';
import { runProc } from '../../../testkit/processes.js';
import { waitFor } from '../../../testkit/wait.js';

interface LogLine { msg?: string; [k: string]: unknown }

describe('machmon broker reloads its config on SIGHUP', () => {
  let dir: string;
  let configFile: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let url = '';
  const clients: MqttClient[] = [];
  const logLines = (): LogLine[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
  const lastLine = (msg: string) => logLines().filter((l) => l.msg === msg).pop();
  const writeConfig = (broker: Record<string, unknown>) =>
    writeFileSync(configFile, JSON.stringify({ broker: { host: '127.0.0.1', port: 0, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, dataDir: path.join(dir, 'data'), authThrottle: { baseDelayMs: 0, maxDelayMs: 0 }, ...broker } }));
  const open = async (username: string, password: string) => {
    const c = await connect(url, username, password, { clientId: `reload-${username}-${clients.length}` });
    clients.push(c);
    return c;
  };
  const hup = async (expectMsg: string) => {
    const before = logLines().filter((l) => l.msg === expectMsg).length;
    child.kill('SIGHUP');
    await waitFor(`"${expectMsg}" after SIGHUP`, () => logLines().filter((l) => l.msg === expectMsg).length > before, 10_000);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-reload-'));
    configFile = path.join(dir, 'machmon.json');
    writeConfig({ auth: 'both', allowedHosts: ['pi-*', 'lab-*'], readers: ['ingestor', 'alice'] });
    child = spawn(process.execPath, [MACHMON, 'broker', '--config', configFile], { cwd: REPO, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('broker listening', () => stdout.includes('broker listening'), 15_000);
    url = `mqtt://127.0.0.1:${logLines().find((l) => l.msg === 'broker listening')!.port as number}`;
  }, 30_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops and then refuses what the new config no longer admits; the rest stays connected', async () => {
    const revoked = await open('pi-a', hostKey(PASSWORD, 'pi-a'));
    const fleet = await open('pi-b', PASSWORD);
    const kept = await open('pi-c', hostKey(PASSWORD, 'pi-c'));
    const lab = await open('lab-1', hostKey(PASSWORD, 'lab-1'));
    const alice = await open('alice', READER_PASSWORD);
    const ingestor = await open('ingestor', READER_PASSWORD);
    const closed = [revoked, fleet, lab, alice].map(closeOf);
    const connected = () => logLines().filter((l) => l.msg === 'client connected');
    await waitFor('the six logins in the log', () => connected().length >= 6);
    expect(connected().find((l) => l.username === 'pi-a')).toMatchObject({ credential: 'hostKey' });
    expect(connected().find((l) => l.username === 'pi-b')).toMatchObject({ credential: 'fleetPassword' });
    expect(connected().find((l) => l.username === 'ingestor')).toMatchObject({ credential: 'readerPassword' });

    writeConfig({ auth: 'hostKeys', allowedHosts: ['pi-*'], readers: ['ingestor'], revokedHosts: ['pi-a'] });
    await hup('config reloaded');
    await Promise.all(closed);
    expect(kept.connected && ingestor.connected).toBe(true);

    const dropped = logLines().filter((l) => l.msg === 'client dropped on reload');
    expect(Object.fromEntries(dropped.map((l) => [l.username, l.reason]))).toEqual({
      'pi-a': 'host_revoked',
      'pi-b': 'fleet_password_disabled',
      'lab-1': 'host_not_allowed',
      alice: 'reader_credential_for_agent',
    });
    expect(logLines().find((l) => l.msg === 'config reloaded')).toMatchObject({ dropped: 4, auth: 'hostKeys' });

    expect(await refusalCode(url, 'pi-a', hostKey(PASSWORD, 'pi-a'))).toBe(5);
    expect(await refusalCode(url, 'pi-b', PASSWORD)).toBe(5);
    expect(await refusalCode(url, 'lab-1', hostKey(PASSWORD, 'lab-1'))).toBe(5);
    expect(await refusalCode(url, 'alice', READER_PASSWORD)).toBe(5);
    expect(await refusalCode(url, 'pi-b', hostKey(PASSWORD, 'pi-b'))).toBe(0);
    expect(stdout).not.toContain(PASSWORD);
    expect(stdout).not.toContain(hostKey(PASSWORD, 'pi-c'));
  }, 30_000);

  it('refuses an invalid config with the message a start would give, and keeps the running one', async () => {
    const kept = await open('pi-d', hostKey(PASSWORD, 'pi-d'));
    writeConfig({ auth: 'hostKeys', allowedHosts: ['pi-*'], readerPassword: PASSWORD, revokedHosts: ['pi-d'] });
    const atStart = await runProc(process.execPath, [MACHMON, 'broker', '--config', configFile]);
    expect(atStart.code).toBe(2);
    const message = atStart.stderr.trim().replace(/^machmon broker: /, '');
    expect(message).toContain('broker.readerPassword: must differ from broker.secretPassword');

    await hup('config reload refused, the running config stays');
    expect(stderr).toContain(`reload refused, the running config stays: ${message}`);
    expect(lastLine('config reload refused, the running config stays')).toMatchObject({ problem: message, code: 'CONFIG_INVALID' });
    // Still the previous rules: pi-d (revoked only in the refused file) stays and logs in.
    expect(kept.connected).toBe(true);
    expect(await refusalCode(url, 'pi-d', hostKey(PASSWORD, 'pi-d'))).toBe(0);
    expect(child.exitCode).toBeNull();

    writeFileSync(configFile, '{ not json');
    await hup('config reload refused, the running config stays');
    expect(lastLine('config reload refused, the running config stays')).toMatchObject({ code: 'CONFIG_UNREADABLE' });
    expect(kept.connected).toBe(true);
  }, 30_000);

  it("the systemd unit's ExecReload is such a SIGHUP", async () => {
    const unit = readFileSync(path.join(REPO, 'deploy/systemd/machmon-broker.service'), 'utf8');
    const line = unit.match(/^ExecReload=(.*)$/m)?.[1];
    expect(line).toBeDefined();
    writeConfig({ auth: 'hostKeys', allowedHosts: ['pi-*'] });
    const before = logLines().filter((l) => l.msg === 'config reloaded').length;
    const r = await runProc('sh', ['-c', line!.replace('$MAINPID', String(child.pid))]);
    expect(r.code).toBe(0);
    await waitFor('the reload', () => logLines().filter((l) => l.msg === 'config reloaded').length > before, 10_000);
  });

  it('names the keys that need a restart and applies the rest', async () => {
    writeConfig({ auth: 'hostKeys', allowedHosts: ['pi-*'], maxPayloadBytes: 1000 });
    await hup('config reloaded');
    expect(lastLine('config reload: these keys take effect only after a restart')).toMatchObject({ keys: ['broker.maxPayloadBytes'] });
    expect(await refusalCode(url, 'pi-a', hostKey(PASSWORD, 'pi-a'))).toBe(0); // no longer revoked
  }, 30_000);
});

describe('Broker.reconfigure (in process)', () => {
  it('counts the clients it drops', async () => {
    const tb = await startTestBroker({ auth: 'both' });
    try {
      const pi = await connect(tb.url, 'pi-1', PASSWORD);
      const closed = closeOf(pi);
      expect(tb.broker.reconfigure(brokerConfig(tb.dataDir, { auth: 'hostKeys' }))).toEqual({ dropped: 1 });
      await closed;
      expect(tb.broker.refusals.dropped_on_reload).toBe(1);
      expect(await refusalCode(tb.url, 'pi-1', PASSWORD)).toBe(5);
      expect(await refusalCode(tb.url, 'pi-1', hostKey(PASSWORD, 'pi-1'))).toBe(0);
    } finally {
      await tb.stop();
    }
  });
});
