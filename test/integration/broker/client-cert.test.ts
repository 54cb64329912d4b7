// Client certificates (README "Security model"): broker.tls.requireClientCert with a fleet CA
// made by the README's openssl lines; the certificate's CN is the username. Real broker, real
// MQTT.js clients and the real agent over mqtts, mosquitto_pub with --cert.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentService } from '../../../agent/runtime/agent.js';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';
import { METRIC_NAMES } from '../../../common/schema.js';
import { makeTestPki, type TestPki } from '../../../testkit/pki.js';
import { closeOf, collect, connect, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { runProc } from '../../../testkit/processes.js';
import { waitFor } from '../../../testkit/wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-client-cert-'));

let tb: TestBroker;
let url: string;
let pki: TestPki;
const clients: MqttClient[] = [];
const tlsOpts = (who: string) => {
  const c = who === 'rogue' ? pki.rogue : pki.client(who);
  return { ca: readFileSync(pki.serverCa), cert: readFileSync(c.cert), key: readFileSync(c.key), rejectUnauthorized: true };
};

beforeAll(async () => {
  pki = makeTestPki(dir, ['pi-a', 'pi-b', 'pi-lost', 'ingestor', 'laptop']);
  tb = await startTestBroker({ revokedHosts: ['pi-lost'], tls: { port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.fleetCa, requireClientCert: true } });
  url = `mqtts://127.0.0.1:${tb.broker.tlsPort}`;
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await tb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = async (who: string, username?: string, password?: string) => {
  const c = await connect(url, username, password, tlsOpts(who));
  clients.push(c);
  return c;
};
const code = async (who: string, username?: string, password?: string) => {
  try {
    (await open(who, username, password)).end(true);
    return 0;
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
};

describe('broker.tls.requireClientCert', () => {
  it('the CN is the login: no password needed, another username refused, revoked and unknown hosts refused', async () => {
    expect(await code('pi-a')).toBe(0);
    expect(await code('pi-a', 'pi-a')).toBe(0);
    expect(await code('pi-a', 'pi-b', 'whatever')).toBe(5); // cert_name_mismatch
    expect(await code('pi-lost')).toBe(5);
    expect(await code('laptop')).toBe(5); // not in allowedHosts
    expect(tb.broker.refusals.cert_name_mismatch).toBe(1);
    expect(tb.broker.refusals.host_revoked).toBe(1);
  });

  it('no certificate, or one from another CA, does not get through the handshake', async () => {
    await expect(connect(url, 'pi-a', 'x', { ca: readFileSync(pki.serverCa), rejectUnauthorized: true })).rejects.toThrow();
    await expect(connect(url, undefined, undefined, tlsOpts('rogue'))).rejects.toThrow();
    expect(tb.broker.aedes.connectedClients).toBe(0);
  });

  it('a host with its certificate publishes only under its own name; a reader certificate reads everything', async () => {
    const reader = await open('ingestor');
    const got = collect(reader);
    await reader.subscribeAsync('machmon/#', { qos: 1 });
    const a = await open('pi-a');
    await a.publishAsync('machmon/pi-a/status', 'cert-online', { qos: 1 });
    await waitFor('the reading at the reader', () => got.includes('machmon/pi-a/status cert-online'));
    const closed = closeOf(a);
    a.publish('machmon/pi-b/cpu', 'forged', { qos: 1 });
    await closed;
    expect(got).not.toContain('machmon/pi-b/cpu forged');
  });

  it('mosquitto_pub with --cert/--key logs in as its CN', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(tb.broker.tlsPort), '--cafile', pki.serverCa, '--cert', pki.client('pi-b').cert, '--key', pki.client('pi-b').key, '-V', 'mqttv311', '-q', '1'];
    const ok = await runProc('mosquitto_pub', [...args, '-t', 'machmon/pi-b/status', '-m', 'mosquitto-cert']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const mismatch = await runProc('mosquitto_pub', [...args, '-u', 'pi-a', '-t', 'machmon/pi-a/status', '-m', 'x']);
    expect(mismatch.stderr).toContain('not authorised');
  });

  it('the agent with agent.certFile/keyFile and no password gets its readings through', async () => {
    const reader = await open('ingestor');
    const got = collect(reader);
    await reader.subscribeAsync('machmon/pi-a/cpu', { qos: 1 });
    const cfg = loadConfig({
      raw: { agent: { brokerUrl: url, hostname: 'pi-a', caFile: pki.serverCa, certFile: pki.client('pi-a').cert, keyFile: pki.client('pi-a').key, dataDir: path.join(dir, 'agent'), intervalMs: 300, metrics: Object.fromEntries(METRIC_NAMES.map((m) => [m, { enabled: m === 'cpu' }])) } },
      sections: ['agent'],
      env: {},
    }).agent!;
    let agent: AgentService | undefined;
    try {
      agent = await startAgent(cfg, silentLogger);
      await waitFor('a cpu reading from the agent', () => got.length > 0, 10_000);
      expect(tb.lines.some((l) => l.msg === 'client connected' && l.username === 'pi-a' && l.credential === 'clientCert' && l.clientId === 'machmon-agent-pi-a')).toBe(true);
    } finally {
      await agent?.stop();
    }
  });

  it('config: requireClientCert needs the CA; a client certificate needs mqtts and its key', () => {
    const broker = (tls: Record<string, unknown>) => () => loadConfig({ raw: { broker: { secretPassword: 's', readerPassword: 'r', tls: { cert: 'c', key: 'k', ...tls } } }, sections: ['broker'], env: {} });
    expect(broker({ requireClientCert: true })).toThrow(/broker\.tls\.ca: required with requireClientCert/);
    const agent = (a: Record<string, unknown>) => () => loadConfig({ raw: { agent: a as never }, sections: ['agent'], env: {} });
    expect(agent({ brokerUrl: 'mqtt://x:1883', certFile: 'c', keyFile: 'k' })).toThrow(/agent\.certFile: a client certificate needs an mqtts:\/\/ brokerUrl/);
    expect(agent({ brokerUrl: 'mqtts://x', certFile: 'c' })).toThrow(/agent\.keyFile: agent\.certFile and agent\.keyFile go together/);
    expect(agent({ brokerUrl: 'mqtts://x' })).toThrow(/agent\.password: required \(the host key or the fleet password\), unless agent\.certFile/);
  });
});
