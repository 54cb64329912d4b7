// `machmon mosquitto-config` (broker/mosquitto-config.ts) against Debian's mosquitto: the
// generated password file admits exactly the fleet's hosts (fleet password or each its host
// key, as broker.auth says) and readers with the reader password, never with the fleet
// password; the ACL keeps every host to its own topics, confirmations to readers, and Home
// Assistant (broker.homeAssistant) to its discovery and state topics.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwdLine, writeMosquittoConfig } from '../../../broker/mosquitto-config.js';
import { loadConfig } from '../../../common/config.js';
import type { BrokerConfig } from '../../../broker/config.js';
import { ConfigError } from '../../../common/errors.js';
import { freePort, startMosquittoWithConf, type Server } from '../../../bench/servers.js';
import { type TestPki, makeTestPki } from '../../../testkit/pki.js';
import { hostKey } from '../../../broker/credentials.js';
import { collect } from '../../../testkit/broker.js';

const PASSWORD = 'fleet-secret-äö';
const READER_PASSWORD = 'reader-secret-ü';

function brokerConfig(port: number, dataDir: string, extra: Record<string, unknown> = {}): BrokerConfig {
  return loadConfig({ raw: { broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['pi-a', 'pi-*'], readers: ['ingestor'], dataDir, ...extra } }, sections: ['broker'], env: {} }).broker!;
}

function connect(port: number, username: string, password = username === 'ingestor' ? READER_PASSWORD : PASSWORD): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username, password, clientId: `t-${username}-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 5000 });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

/** Debian's mosquitto on the files `machmon mosquitto-config` writes for this broker section, in a temp dir of its own. */
async function mosquittoFor(prefix: string, extra: Record<string, unknown>, hosts: string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const port = await freePort();
  const result = writeMosquittoConfig(brokerConfig(port, path.join(dir, 'data'), extra), { outDir: path.join(dir, 'conf'), hosts });
  // As root, mosquitto would switch to the "mosquitto" user, who cannot read this private temp dir.
  if (process.getuid?.() === 0) appendFileSync(result.files.conf, 'user root\n');
  return { dir, result, mosquitto: await startMosquittoWithConf(dir, result.files.conf, port) };
}

describe('mosquitto-config', () => {
  let dir: string;
  let mosquitto: Server;
  let result: ReturnType<typeof writeMosquittoConfig>;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ({ dir, result, mosquitto } = await mosquittoFor('machmon-mosq-', {}, ['pi-b']));
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a line per reader and host; globs are admitted through the given hosts', () => {
    expect(result.users).toEqual(['ingestor', 'pi-a', 'pi-b']);
    expect(result.unexpandedGlobs).toEqual([]);
    const lines = readFileSync(result.files.passwd, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['ingestor', 'pi-a', 'pi-b']);
    expect(lines.every((l) => /^[^:]+:\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/.test(l))).toBe(true);
    expect(passwdLine('x', 'pw', Buffer.alloc(12, 1))).toBe(passwdLine('x', 'pw', Buffer.alloc(12, 1)));
  });

  it('refuses a host outside allowedHosts, and says which globs no host expanded', () => {
    const cfg = brokerConfig(1883, path.join(dir, 'data2'));
    expect(() => writeMosquittoConfig(cfg, { outDir: path.join(dir, 'conf2'), hosts: ['laptop'] })).toThrow(ConfigError);
    expect(writeMosquittoConfig(cfg, { outDir: path.join(dir, 'conf3') }).unexpandedGlobs).toEqual(['pi-*']);
  });

  it('admits listed hosts with the fleet password and readers with theirs, nobody else', async () => {
    for (const u of ['pi-a', 'pi-b', 'ingestor']) clients.push(await connect(mosquitto.port, u));
    await expect(connect(mosquitto.port, 'ingestor', PASSWORD)).rejects.toThrow(/Not authorized|Bad username or password/); // the fleet password opens no reader login
    await expect(connect(mosquitto.port, 'pi-a', 'wrong')).rejects.toThrow(/Not authorized|Bad username or password/);
    await expect(connect(mosquitto.port, 'pi-c')).rejects.toThrow(/Not authorized|Bad username or password/); // matches pi-* but not in the password file
    await expect(connect(mosquitto.port, 'laptop')).rejects.toThrow(/Not authorized|Bad username or password/);
  });

  it('a host publishes only under its own name; only readers publish confirmations, each host reads only its own', async () => {
    const reader = await connect(mosquitto.port, 'ingestor');
    const a = await connect(mosquitto.port, 'pi-a');
    const b = await connect(mosquitto.port, 'pi-b');
    // Denied publishes come from a second connection of pi-a: mosquitto may close a 3.1.1 client after one.
    const forger = await connect(mosquitto.port, 'pi-a');
    clients.push(reader, a, b, forger);
    const readerGot = collect(reader);
    const aGot = collect(a);
    const bGot = collect(b);
    await reader.subscribeAsync('machmon/#', { qos: 1 });
    await a.subscribeAsync('machmon/pi-a/confirm/stored', { qos: 1 });
    await b.subscribeAsync('machmon/pi-a/confirm/stored', { qos: 1 }); // someone else's confirmations

    await a.publishAsync('machmon/pi-a/cpu', 'own', { qos: 1 });
    // Denied publishes: mosquitto drops them (MQTT 3.1.1 has no negative PUBACK); not awaited.
    forger.publish('machmon/pi-b/cpu', 'forged', { qos: 1 });
    forger.publish('machmon/pi-a/confirm/stored', 'self-confirm', { qos: 1 });
    await reader.publishAsync('machmon/pi-a/confirm/stored', '{"ranges":[[1,1]]}', { qos: 1 });
    a.publish('machmon/pi-a/status', 'done', { qos: 1 });
    // The last publish of each client has arrived where it may go.
    for (let i = 0; i < 100 && !(readerGot.includes('machmon/pi-a/status done') && aGot.length > 0); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));

    expect(readerGot).toContain('machmon/pi-a/cpu own');
    expect(readerGot).not.toContain('machmon/pi-b/cpu forged');
    expect(readerGot).not.toContain('machmon/pi-a/confirm/stored self-confirm');
    expect(aGot).toEqual(['machmon/pi-a/confirm/stored {"ranges":[[1,1]]}']);
    expect(bGot).toEqual([]);
  });
});

describe('mosquitto-config with host keys', () => {
  let dir: string;
  let mosquitto: Server;
  let result: ReturnType<typeof writeMosquittoConfig>;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ({ dir, result, mosquitto } = await mosquittoFor('machmon-mosq-keys-', { auth: 'hostKeys', revokedHosts: ['pi-lost'] }, ['pi-b', 'pi-lost']));
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves revoked hosts out, and refuses the mode it cannot express', () => {
    expect(result.users).toEqual(['ingestor', 'pi-a', 'pi-b']);
    expect(result.revoked).toEqual(['pi-lost']);
    const both = brokerConfig(1883, path.join(dir, 'data2'), { auth: 'both' });
    expect(() => writeMosquittoConfig(both, { outDir: path.join(dir, 'conf2') })).toThrow(/broker\.auth is "both"/);
  });

  it('admits each host with its own key only: not with the fleet password, not with another host\'s key', async () => {
    for (const u of ['pi-a', 'pi-b']) clients.push(await connect(mosquitto.port, u, hostKey(PASSWORD, u)));
    clients.push(await connect(mosquitto.port, 'ingestor'));
    const refused = /Not authorized|Bad username or password/;
    await expect(connect(mosquitto.port, 'pi-a', PASSWORD)).rejects.toThrow(refused);
    await expect(connect(mosquitto.port, 'pi-a', hostKey(PASSWORD, 'pi-b'))).rejects.toThrow(refused);
    await expect(connect(mosquitto.port, 'pi-lost', hostKey(PASSWORD, 'pi-lost'))).rejects.toThrow(refused);
    await expect(connect(mosquitto.port, 'ingestor', hostKey(PASSWORD, 'ingestor'))).rejects.toThrow(refused);
  });
});

describe('mosquitto-config with client certificates', () => {
  let dir: string;
  let mosquitto: Server;
  let pki: TestPki;
  let tlsPort: number;
  const clients: MqttClient[] = [];
  const tlsConnect = (who: string | 'none') =>
    new Promise<MqttClient>((resolve, reject) => {
      const cert = who === 'none' ? {} : { cert: readFileSync(pki.client(who).cert), key: readFileSync(pki.client(who).key) };
      const c = mqtt.connect(`mqtts://127.0.0.1:${tlsPort}`, { ca: readFileSync(pki.serverCa), ...cert, rejectUnauthorized: true, clientId: `t-cert-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 5000 });
      clients.push(c);
      c.once('connect', () => resolve(c));
      c.once('error', (err) => {
        c.end(true);
        reject(err);
      });
    });
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-mosq-cert-'));
    pki = makeTestPki(dir, ['pi-a', 'ingestor']);
    const port = await freePort();
    tlsPort = await freePort();
    const cfg = brokerConfig(port, path.join(dir, 'data'), { tls: { port: tlsPort, cert: pki.serverCert, key: pki.serverKey, ca: pki.fleetCa, requireClientCert: true } });
    const result = writeMosquittoConfig(cfg, { outDir: path.join(dir, 'conf') });
    if (process.getuid?.() === 0) appendFileSync(result.files.conf, 'user root\n');
    mosquitto = await startMosquittoWithConf(dir, result.files.conf, port);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits a certificate as its CN without a password, keeps it to its own topics, and refuses a client without one', async () => {
    const reader = await tlsConnect('ingestor');
    const got = collect(reader);
    await reader.subscribeAsync('machmon/#', { qos: 1 });
    const a = await tlsConnect('pi-a');
    // Denied publishes from a second connection: mosquitto may close a 3.1.1 client after one.
    const forger = await tlsConnect('pi-a');
    forger.publish('machmon/pi-b/cpu', 'forged', { qos: 1 });
    await a.publishAsync('machmon/pi-a/status', 'cert', { qos: 1 });
    for (let i = 0; i < 100 && !got.includes('machmon/pi-a/status cert'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toContain('machmon/pi-a/status cert');
    expect(got).not.toContain('machmon/pi-b/cpu forged');
    await expect(tlsConnect('none')).rejects.toThrow();
  });
});

describe('mosquitto-config with Home Assistant (broker.homeAssistant)', () => {
  const HA_PASSWORD = 'home-assistant-secret';
  let dir: string;
  let mosquitto: Server;
  let result: ReturnType<typeof writeMosquittoConfig>;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ({ dir, result, mosquitto } = await mosquittoFor('machmon-mosq-ha-', { homeAssistant: { password: HA_PASSWORD } }, ['pi-b']));
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts Home Assistant in the password file and gives it, in the ACL, its own topics only', () => {
    expect(result.users).toEqual(['ingestor', 'homeassistant', 'pi-a', 'pi-b']);
    const acl = readFileSync(result.files.acl, 'utf8');
    expect(acl).toContain('user homeassistant\ntopic read homeassistant/#\ntopic read machmon-ha/#\ntopic write homeassistant/status\n');
    expect(acl).toContain('user ingestor\ntopic read machmon/#\ntopic write machmon/+/confirm/stored\ntopic write machmon/+/status\ntopic readwrite homeassistant/#\ntopic readwrite machmon-ha/#\n');
  });

  it('Home Assistant logs in with its password only, reads discovery and states but no reading, and writes only its birth message', async () => {
    const refused = /Not authorized|Bad username or password/;
    await expect(connect(mosquitto.port, 'homeassistant', READER_PASSWORD)).rejects.toThrow(refused);
    await expect(connect(mosquitto.port, 'homeassistant', PASSWORD)).rejects.toThrow(refused);
    const ha = await connect(mosquitto.port, 'homeassistant', HA_PASSWORD);
    const forger = await connect(mosquitto.port, 'homeassistant', HA_PASSWORD);
    const reader = await connect(mosquitto.port, 'ingestor');
    const a = await connect(mosquitto.port, 'pi-a');
    clients.push(ha, forger, reader, a);
    const haGot = collect(ha);
    const readerGot = collect(reader);
    await ha.subscribeAsync(['homeassistant/#', 'machmon-ha/#', 'machmon/#'], { qos: 1 });
    await reader.subscribeAsync(['homeassistant/status', 'machmon/#'], { qos: 1 });
    await reader.publishAsync('homeassistant/sensor/machmon_pi-a/cpu_use/config', '{"name":"CPU use"}', { qos: 1 });
    await reader.publishAsync('machmon-ha/pi-a/cpu', '{"cpu_use":12.5}', { qos: 1 });
    await a.publishAsync('machmon/pi-a/cpu', 'reading', { qos: 1 });
    forger.publish('machmon/pi-a/cpu', 'forged', { qos: 1 });
    forger.publish('machmon/pi-a/confirm/stored', 'forged-confirm', { qos: 1 });
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    for (let i = 0; i < 100 && !(readerGot.includes('homeassistant/status online') && haGot.length >= 2); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(haGot.filter((m) => !m.startsWith('homeassistant/status'))).toEqual(['homeassistant/sensor/machmon_pi-a/cpu_use/config {"name":"CPU use"}', 'machmon-ha/pi-a/cpu {"cpu_use":12.5}']);
    expect(readerGot).toContain('machmon/pi-a/cpu reading');
    expect(readerGot).toContain('homeassistant/status online');
    expect(readerGot).not.toContain('machmon/pi-a/cpu forged');
    expect(readerGot).not.toContain('machmon/pi-a/confirm/stored forged-confirm');
  });
});
