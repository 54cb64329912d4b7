// The agent's own MQTT transports (MQTT.js's client class with a TCP or TLS stream of ours,
// without mqtt's connect() and its WebSocket/SOCKS transports): where a broker URL points,
// and that mqtts:// verifies the broker's certificate and name against agent.caFile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher, streamBuilder } from '../../../../agent/runtime/publisher.js';
import { captureLog } from '../../../../testkit/log.js';
import { waitFor } from '../../../../testkit/wait.js';

describe('mqtts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-transport-'));
  /** A self-signed certificate (its own CA) for these names. */
  const certificate = (name: string, san: string) => {
    const key = path.join(dir, `${name}.key`);
    const cert = path.join(dir, `${name}.pem`);
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { key: readFileSync(key), cert: readFileSync(cert) };
  };
  let good: { key: Buffer; cert: Buffer };
  let otherName: { key: Buffer; cert: Buffer };
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    good = certificate('broker', 'IP:127.0.0.1,DNS:localhost');
    otherName = certificate('elsewhere', 'DNS:broker.example');
  });

  afterAll(async () => {
    for (const close of closers) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A real Aedes broker behind a TLS listener on 127.0.0.1 with this certificate. */
  async function tlsBroker(cert: { key: Buffer; cert: Buffer }): Promise<string> {
    const aedes = await Aedes.createBroker();
    const server = tls.createServer(cert, aedes.handle as (s: tls.TLSSocket) => void);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    });
    return `mqtts://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function publisher(url: string, ca: Buffer | undefined) {
    const { log, lines } = captureLog('debug');
    const p = new Publisher({ url, stream: await streamBuilder(url, ca), hostname: 'pi-tls', password: 'pw', reconnect: { minMs: 60_000, maxMs: 60_000 }, log, onConfirm: () => {} });
    p.start();
    return { p, lines };
  }

  it('connects when agent.caFile holds the CA of the broker certificate', async () => {
    const { p } = await publisher(await tlsBroker(good), good.cert);
    try {
      await waitFor('connection over TLS', () => p.connected, 10_000);
      expect(p.connects).toBe(1);
    } finally {
      await p.stop();
    }
  });

  it.each([
    ['a certificate no trusted CA signed (no caFile)', () => good, () => undefined, /self[- ]signed/i],
    ['a trusted certificate for another name', () => otherName, () => otherName.cert, /altnames|does not match/i],
  ])('refuses %s and says why when it retries', async (_what, serverCert, ca, reason) => {
    const { p, lines } = await publisher(await tlsBroker(serverCert()), ca());
    try {
      const retry = await waitFor('a refused TLS handshake', () => lines.find((l) => l.msg === 'reconnecting to broker'), 10_000);
      expect(String(retry.error)).toMatch(reason);
      expect(p.connected).toBe(false);
      expect(p.connects).toBe(0);
    } finally {
      await p.stop();
    }
  });
});
