// The TLS listener (a self-signed certificate made with openssl at test time) and the
// WebSocket listener, with the same login, ACL and size guard as plain TCP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeOf, collect, connect, startTestBroker, subackCodes, type TestBroker } from '../../../testkit/broker.js';
import { mosquittoSub } from '../../../testkit/mosquitto.js';
import { PASSWORD, READER_PASSWORD } from '../../../testkit/configs.js';
import { runProc } from '../../../testkit/processes.js';
import { waitFor } from '../../../testkit/wait.js';

const certDir = mkdtempSync(path.join(os.tmpdir(), 'machmon-broker-tls-'));
const cert = path.join(certDir, 'cert.pem');
const key = path.join(certDir, 'key.pem');
let tb: TestBroker;

beforeAll(async () => {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  tb = await startTestBroker({ tls: { port: 0, cert, key }, websocket: { port: 0 } });
});
afterAll(async () => {
  await tb?.stop();
  rmSync(certDir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('admits an allowed host over mqtts and refuses a wrong password', async () => {
    expect(tb.broker.tlsPort).toBeGreaterThan(0);
    const url = `mqtts://127.0.0.1:${tb.broker.tlsPort}`;
    const ca = readFileSync(cert);
    const c = await connect(url, 'pi-tls', PASSWORD, { ca, rejectUnauthorized: true });
    const got = collect(c);
    await c.subscribeAsync('machmon/pi-tls/#', { qos: 1 });
    await c.publishAsync('machmon/pi-tls/cpu', 'secure', { qos: 1 });
    await waitFor('own message over TLS', () => got.length === 1);
    await c.endAsync();
    await expect(connect(url, 'pi-tls', 'wrong', { ca })).rejects.toMatchObject({ code: 4 });
  });

  it('serves mosquitto clients over TLS with the certificate as CA', async () => {
    const sub = mosquittoSub(tb.broker.tlsPort!, 'ingestor', READER_PASSWORD, 'machmon/#', ['--cafile', cert]);
    try {
      for (let i = 0; i < 50 && !sub.stdout.includes('tls-hello'); i++) {
        const r = await runProc('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tb.broker.tlsPort), '--cafile', cert, '-V', 'mqttv311', '-u', 'pi-tls', '-P', PASSWORD, '-t', 'machmon/pi-tls/status', '-m', 'tls-hello', '-q', '1']);
        expect(r.stderr).toBe('');
        await new Promise((res) => setTimeout(res, 100));
      }
      await sub.waitFor('machmon/pi-tls/status tls-hello');
    } finally {
      await sub.stop();
    }
  });

  it('closes a TLS client that sends an oversize packet', async () => {
    const c = await connect(`mqtts://127.0.0.1:${tb.broker.tlsPort}`, 'pi-tls-big', PASSWORD, { ca: readFileSync(cert) });
    const closed = closeOf(c);
    const before = tb.broker.refusals.payload_too_large;
    c.publish('machmon/pi-tls-big/logs', Buffer.alloc(2 * 1024 * 1024), { qos: 1 });
    await closed;
    expect(tb.broker.refusals.payload_too_large).toBe(before + 1);
    c.end(true);
  });
});

describe('WebSocket', () => {
  it('admits an allowed host over ws:// and applies the ACL', async () => {
    expect(tb.broker.wsPort).toBeGreaterThan(0);
    const url = `ws://127.0.0.1:${tb.broker.wsPort}/mqtt`;
    const c = await connect(url, 'pi-ws', PASSWORD);
    const got = collect(c);
    expect(await subackCodes(c, ['machmon/pi-ws/#', 'machmon/#'])).toEqual([1, 128]);
    await c.publishAsync('machmon/pi-ws/cpu', 'over-ws', { qos: 1 });
    await waitFor('own message over WebSocket', () => got.length === 1);
    expect(got).toEqual(['machmon/pi-ws/cpu over-ws']);
    expect(tb.lines.some((l) => l.msg === 'client connected' && l.username === 'pi-ws' && l.address === '127.0.0.1')).toBe(true);
    await c.endAsync();
    await expect(connect(url, 'stranger', PASSWORD)).rejects.toMatchObject({ code: 5 });
  });

  it('closes a WebSocket client that sends an oversize packet', async () => {
    const c = await connect(`ws://127.0.0.1:${tb.broker.wsPort}/mqtt`, 'pi-ws-big', PASSWORD);
    const closed = closeOf(c);
    c.publish('machmon/pi-ws-big/logs', Buffer.alloc(2 * 1024 * 1024), { qos: 1 });
    await closed;
    c.end(true);
  });
});
