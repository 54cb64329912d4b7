// `machmon up`'s config (cli/up.ts): both secrets on first run, the reader password added to
// an older ./data/machmon.json, and the passwords the local agent and the ingestor fall back to.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hostKey } from '../../../broker/credentials.js';
import { ConfigError } from '../../../common/errors.js';
import { loadUpConfig } from '../../../cli/up.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('machmon up config', () => {
  let printed = '';
  let n = 0;
  let file = '';
  beforeEach(() => {
    printed = '';
    file = path.join(dir, `run-${n++}`, 'machmon.json');
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void (printed += `${args.join(' ')}\n`));
  });
  afterEach(() => vi.restoreAllMocks());
  const write = (content: unknown) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(content));
  };

  it('first run: two different secrets, the reader one in the watch line; the ingestor uses it, the agent the fleet password', () => {
    const cfg = loadUpConfig(undefined, { MACHMON_BROKER_PORT: '1999' }, file);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { broker: { secretPassword: string; readerPassword: string } };
    expect(saved.broker.readerPassword).not.toBe(saved.broker.secretPassword);
    expect(printed).toContain(saved.broker.secretPassword);
    expect(printed).toMatch(new RegExp(`mosquitto_sub -h 127\\.0\\.0\\.1 -p 1999 -u ingestor -P '${saved.broker.readerPassword}'`));
    expect(printed.match(/^ +mosquitto_sub .*$/m)![0]).not.toContain(saved.broker.secretPassword);
    expect(cfg.ingestor!.password).toBe(saved.broker.readerPassword);
    expect(cfg.agent!.password).toBe(saved.broker.secretPassword);
    expect(cfg.ingestor!.brokerUrl).toBe('mqtt://127.0.0.1:1999');
  });

  it('an older ./data/machmon.json without a reader password gets one, printed once; the rest of the file stays', () => {
    const before = { broker: { secretPassword: 'old fleet pw', allowedHosts: ['pi-*', 'here'] }, agent: { hostname: 'here' }, ingestor: {} };
    write(before);
    const cfg = loadUpConfig(undefined, {}, file);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as typeof before & { broker: { readerPassword: string } };
    expect(saved.broker).toMatchObject(before.broker);
    expect(saved.agent).toEqual(before.agent);
    expect(saved.broker.readerPassword.length).toBeGreaterThanOrEqual(20);
    expect(printed).toContain('Added broker.readerPassword');
    expect(printed).toContain(`-P '${saved.broker.readerPassword}'`);
    expect(cfg.ingestor!.password).toBe(saved.broker.readerPassword);
    printed = '';
    loadUpConfig(undefined, {}, file);
    expect(printed).toBe(''); // once only
  });

  it('a file given with --config is not rewritten: no reader password names the key', () => {
    write({ broker: { secretPassword: 'pw' } });
    expect(() => loadUpConfig(file, {})).toThrow(/broker\.readerPassword: required/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ broker: { secretPassword: 'pw' } });
  });

  it('an ingestor.password that is the fleet password is refused with what to do', () => {
    write({ broker: { secretPassword: 'pw', readerPassword: 'rpw' }, ingestor: { password: 'pw' } });
    expect(() => loadUpConfig(file, {})).toThrow(ConfigError);
    expect(() => loadUpConfig(file, {})).toThrow(/ingestor\.password: is the fleet password \(broker\.secretPassword\)/);
  });

  it('with broker.auth hostKeys the local agent logs in with its host key', () => {
    write({ broker: { secretPassword: 'pw', readerPassword: 'rpw', auth: 'hostKeys' }, agent: { hostname: 'pi-local' } });
    expect(loadUpConfig(file, {}).agent!.password).toBe(hostKey('pw', 'pi-local'));
    expect(loadUpConfig(file, { MACHMON_AGENT_HOSTNAME: 'pi-env' }).agent!.password).toBe(hostKey('pw', 'pi-env'));
  });
});
