import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMetric } from '../../../common/schema.js';
import { runCli } from '../../../testkit/cli.js';
import { hostKey } from '../../../broker/credentials.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-cli-'));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

describe('machmon CLI', () => {
  it.each(['broker', 'agent', 'ingestor', 'up', 'decode', 'host-key', 'mosquitto-config', 'forget'])('%s --help exits 0 and shows the options', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`machmon ${cmd}`);
    expect(r.stdout).toContain('--config');
  });

  it('without a command prints usage and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Commands:');
  });

  it('an unknown command or option exits 2', async () => {
    expect((await runCli(['fly'])).code).toBe(2);
    expect((await runCli(['broker', '--colour'])).code).toBe(2);
  });

  it.each([
    ['{"broker": {"secretPassword": "s", "readerPassword": "r", "port": "high"}}', 'broker.port'],
    ['{"broker": {"secretPassword": "s", "readerPassword": "r", "extra": 1}}', 'broker.extra: unknown key'],
    ['{"broker": {"secretPassword": "s"}}', 'broker.readerPassword: required'],
    ['{"broker": {}}', 'broker.secretPassword'],
    ['{"broker": ', 'not valid JSON'],
  ])('a bad config file exits 2 naming the key: %s', async (json, key) => {
    const r = await runCli(['broker', '--config', file(`bad-${key.replace(/\W/g, '')}.json`, json)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(key);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('a missing config file exits 2 and names it', async () => {
    const r = await runCli(['agent', '--config', path.join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.json');
  });

  it('a bad MACHMON_* variable exits 2 naming the variable', async () => {
    const r = await runCli(['ingestor'], { env: { MACHMON_INGESTOR_PASSWORD: 'p', MACHMON_INGESTOR_BATCH_SIZE: '-5' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ingestor.batchSize');
    expect(r.stderr).toContain('MACHMON_INGESTOR_BATCH_SIZE');
  });

  it('decode turns mosquitto_sub -F "%t %x" lines into JSON and reports bad lines', async () => {
    const payload = Buffer.from(encodeMetric('cpu', { header: { hostname: 'pi-1', sampleTimeMs: 1_795_000_000_000, seq: 7 }, userPercent: 12.5, idlePercent: 87.5 })).toString('hex');
    const input = [
      `machmon/pi-1/cpu ${payload}`,
      `machmon/pi-1/status ${Buffer.from('online').toString('hex')}`,
      'machmon/pi-1/cpu zz',
      `machmon/pi-1/weather ${payload}`,
      `machmon/pi-1/mem ${payload.slice(0, 10)}`,
    ].join('\n');
    const r = await runCli(['decode'], { input });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ topic: 'machmon/pi-1/cpu', host: 'pi-1', metric: 'cpu', message: { header: { hostname: 'pi-1', sampleTimeMs: 1_795_000_000_000, seq: 7 }, userPercent: 12.5, idlePercent: 87.5 } });
    expect(lines[1]).toMatchObject({ kind: 'status', text: 'online' });
    expect(lines).toHaveLength(2);
    expect(r.stderr).toContain('line 3: payload is not hex');
    expect(r.stderr).toContain('line 4: topic "machmon/pi-1/weather": unknown metric');
    expect(r.stderr).toContain('line 5: payload of machmon/pi-1/mem is not a valid mem message');
    expect(r.code).toBe(1);
  });

  it('mosquitto-config writes the three files from the broker section and names globs no host matched', async () => {
    const out = path.join(dir, 'mosq');
    const cfg = file('mosq.json', JSON.stringify({ broker: { secretPassword: 'pw', readerPassword: 'rpw', allowedHosts: ['pi-*', 'lab-*', 'gateway'] } }));
    const r = await runCli(['mosquitto-config', '--config', cfg, '--out', out, '--hosts', 'pi-1,pi-2']);
    expect(r.code).toBe(0);
    const users = readFileSync(path.join(out, 'passwd'), 'utf8').trim().split('\n').map((l) => l.split(':')[0]);
    expect(users.sort()).toEqual(['gateway', 'ingestor', 'pi-1', 'pi-2']);
    expect(readFileSync(path.join(out, 'acl'), 'utf8')).toContain('pattern write machmon/%u/');
    expect(r.stderr).toContain('lab-*');
  });

  it('host-key prints the key of a host (as broker/credentials.ts derives it), and warns where the broker would refuse it', async () => {
    const cfg = file('keys.json', JSON.stringify({ broker: { secretPassword: 'fleet pw', readerPassword: 'rpw', auth: 'both', allowedHosts: ['pi-*'], revokedHosts: ['pi-lost'] } }));
    const one = await runCli(['host-key', '--config', cfg, 'pi-kitchen']);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(`${hostKey('fleet pw', 'pi-kitchen')}\n`);
    expect(one.stdout).toMatch(/^([0-9a-hjkmnp-tv-z]{4}-){5}[0-9a-hjkmnp-tv-z]{4}\n$/);
    expect(one.stderr).toBe('');
    const many = await runCli(['host-key', '--config', cfg, 'pi-a', 'pi-lost', 'laptop']);
    expect(many.stdout.trim().split('\n')).toEqual(['pi-a', 'pi-lost', 'laptop'].map((h) => `${h} ${hostKey('fleet pw', h)}`));
    expect(many.stderr).toContain('pi-lost is in broker.revokedHosts');
    expect(many.stderr).toContain('laptop does not match broker.allowedHosts');
    const bad = await runCli(['host-key', '--config', cfg, 'pi/1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a hostname');
    expect((await runCli(['host-key', '--config', cfg])).code).toBe(2);
    expect((await runCli(['broker', '--config', cfg, 'pi-a'])).code).toBe(2); // only host-key takes names
  });

  it('host keys differ per host and per fleet password', () => {
    const keys = new Set(['pi-1', 'pi-2', 'pi-10', 'pi-1 '].map((h) => hostKey('s', h)));
    expect(keys.size).toBe(4);
    expect(hostKey('s', 'pi-1')).not.toBe(hostKey('t', 'pi-1'));
    expect(hostKey('s', 'pi-1')).toBe(hostKey('s', 'pi-1'));
  });
});
