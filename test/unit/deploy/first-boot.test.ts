// First boot from a flashed card: the boot partition's machmon.json becomes /etc/machmon/agent.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../deploy/pi/agent-entry.js';
import { adoptBootConfig, lookupUser, normalizeBootConfig } from '../../../deploy/pi/first-boot.js';
import { removeTempDirs, tempDir } from '../../integration/deploy/tmp.js';

afterAll(removeTempDirs);

/** A card's two possible boot folders and an /etc, in a temp dir. */
function card() {
  const dir = tempDir('machmon-firstboot-');
  const firmware = path.join(dir, 'boot/firmware');
  mkdirSync(firmware, { recursive: true });
  return {
    dir,
    bootFiles: [path.join(firmware, 'machmon.json'), path.join(dir, 'boot/machmon.json')],
    configFile: path.join(dir, 'etc/machmon/agent.json'),
  };
}
const now = () => new Date('2026-01-02T03:04:05Z');
const mode = (p: string) => statSync(p).mode & 0o777;

describe('adoptBootConfig', () => {
  it('does nothing without a boot file', () => {
    const c = card();
    expect(adoptBootConfig({ ...c, now })).toEqual({ action: 'none' });
    expect(existsSync(c.configFile)).toBe(false);
  });

  it('takes a bare agent section: writes the config (600, given owner), scrubs the boot file, leaves a notice without the password', () => {
    const c = card();
    const secret = 'fleet-Secret-42';
    writeFileSync(c.bootFiles[0]!, JSON.stringify({ brokerUrl: 'mqtt://monitor.lan:1883', password: secret, hostname: 'pi-7' }));
    const r = adoptBootConfig({ ...c, owner: { uid: 1234, gid: 2345 }, now });
    expect(r).toMatchObject({ action: 'adopted', from: c.bootFiles[0], to: c.configFile });
    expect(JSON.parse(readFileSync(c.configFile, 'utf8'))).toEqual({ agent: { brokerUrl: 'mqtt://monitor.lan:1883', password: secret, hostname: 'pi-7' } });
    expect(mode(c.configFile)).toBe(0o600);
    expect([statSync(c.configFile).uid, statSync(c.configFile).gid]).toEqual([1234, 2345]);
    expect(existsSync(c.bootFiles[0]!)).toBe(false);
    const firmware = path.dirname(c.bootFiles[0]!);
    expect(readdirSync(firmware)).toEqual(['machmon-applied.txt']);
    const notice = readFileSync(path.join(firmware, 'machmon-applied.txt'), 'utf8');
    expect(notice).toContain('2026-01-02T03:04:05.000Z');
    expect(notice).toContain(c.configFile);
    expect(notice).not.toContain(secret);
    // No temp file left beside the config; the folder it made lets the agent's group in, nobody else.
    expect(readdirSync(path.dirname(c.configFile))).toEqual(['agent.json']);
    expect(mode(path.dirname(c.configFile))).toBe(0o750);
    expect([statSync(path.dirname(c.configFile)).uid, statSync(path.dirname(c.configFile)).gid]).toEqual([0, 2345]);
  });

  it('keeps only the agent and log sections of a whole config file, and backs up the config it replaces', () => {
    const c = card();
    mkdirSync(path.dirname(c.configFile), { recursive: true });
    writeFileSync(c.configFile, '{"agent":{"password":"old"}}\n', { mode: 0o644 });
    writeFileSync(c.bootFiles[1]!, JSON.stringify({ agent: { password: 'new' }, log: { level: 'debug' }, broker: { secretPassword: 'not for a Pi' } }));
    const r = adoptBootConfig({ ...c, now });
    expect(r).toMatchObject({ action: 'adopted', from: c.bootFiles[1], backup: `${c.configFile}.bak` });
    expect(JSON.parse(readFileSync(c.configFile, 'utf8'))).toEqual({ agent: { password: 'new' }, log: { level: 'debug' } });
    expect(readFileSync(`${c.configFile}.bak`, 'utf8')).toBe('{"agent":{"password":"old"}}\n');
    expect(mode(`${c.configFile}.bak`)).toBe(0o600);
    expect(existsSync(c.bootFiles[1]!)).toBe(false);
  });

  it('prefers /boot/firmware over /boot', () => {
    const c = card();
    writeFileSync(c.bootFiles[0]!, '{"password":"firmware"}');
    writeFileSync(c.bootFiles[1]!, '{"password":"old-image"}');
    expect(adoptBootConfig({ ...c, now })).toMatchObject({ action: 'adopted', from: c.bootFiles[0] });
    expect(JSON.parse(readFileSync(c.configFile, 'utf8')).agent.password).toBe('firmware');
  });

  it.each([
    ['{"password": ', 'not valid JSON'],
    ['["a"]', 'must hold a JSON object'],
    ['{"password": "s3cr3t-value", "intervalMs": "often"}', 'agent.intervalMs'],
    ['{"password": "s3cr3t-value", "colour": "red"}', 'agent.colour: unknown key'],
    ['{"brokerUrl": "mqtt://x"}', 'agent.password'],
  ])('refuses %s: renames it aside with the reason, leaves the config alone', (text, why) => {
    const c = card();
    writeFileSync(c.bootFiles[0]!, text);
    const r = adoptBootConfig({ ...c, now });
    expect(r.action).toBe('refused');
    if (r.action !== 'refused') return;
    expect(r.reason).toContain(why);
    expect(r.reason).not.toContain('s3cr3t-value');
    const firmware = path.dirname(c.bootFiles[0]!);
    expect(readdirSync(firmware).sort()).toEqual(['machmon.invalid.json', 'machmon.invalid.txt']);
    expect(readFileSync(path.join(firmware, 'machmon.invalid.txt'), 'utf8')).toContain(why);
    expect(existsSync(c.configFile)).toBe(false);
    // Not retried on the next start.
    expect(adoptBootConfig({ ...c, now })).toEqual({ action: 'none' });
  });
});

describe('helpers', () => {
  it('normalizeBootConfig wraps a bare agent section', () => {
    expect(normalizeBootConfig({ password: 'p' }, 'x')).toEqual({ agent: { password: 'p' } });
    expect(normalizeBootConfig({ agent: { password: 'p' } }, 'x')).toEqual({ agent: { password: 'p' } });
  });

  it('lookupUser reads passwd(5)', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nmachmon:x:998:997::/var/lib/machmon:/usr/sbin/nologin\n';
    expect(lookupUser(passwd, 'machmon')).toEqual({ uid: 998, gid: 997 });
    expect(lookupUser(passwd, 'mach')).toBeUndefined();
  });

  it('the bundle entry parses its arguments', () => {
    expect(parseArgs([])).toMatchObject({ command: 'agent', config: '/etc/machmon/agent.json' });
    expect(parseArgs(['--config', 'a.json'])).toMatchObject({ command: 'agent', config: 'a.json' });
    expect(parseArgs(['first-boot', '--owner', 'machmon', '--boot-file', 'b', '--boot-file', 'c'])).toMatchObject({ command: 'first-boot', owner: 'machmon', bootFiles: ['b', 'c'] });
    expect(parseArgs(['--owner', 'x']).error).toContain('first-boot');
    expect(parseArgs(['--config']).error).toContain('needs a value');
    expect(parseArgs(['agent', 'first-boot']).error).toContain('unexpected');
  });
});
