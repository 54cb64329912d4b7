// A real broker and ingestor (the machmon CLI on this machine's Node) writing into the shared
// influxd, for the end-to-end tests of the Pi bundle.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { machmonProgram } from './processes.js';
import { hostKey } from '../broker/credentials.js';

export interface Server {
  port: number;
  brokerUrl: string;
  /** mqtts://127.0.0.1:<port> when started with tls. */
  tlsUrl?: string;
  /** The fleet password (broker.secretPassword). */
  password: string;
  /** The host key of `hostname` (`machmon host-key`), for a server started with auth hostKeys or both. */
  hostKey(hostname: string): string;
  influxUrl: string;
  db: string;
  /** Last lines the broker and the ingestor wrote. */
  logs(): string;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 (its own CA: an agent trusts it through agent.caFile). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'broker-cert.pem');
  const key = path.join(dir, 'broker-key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}

export async function startServer(opts: { dir: string; influxUrl: string; db: string; allowedHosts: string[]; tls?: { cert: string; key: string }; auth?: 'fleetPassword' | 'hostKeys' | 'both' }): Promise<Server> {
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const password = `fleet-${process.pid}-${port}`;
  const readerPassword = `reader-${process.pid}-${port}`;
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  const config = path.join(opts.dir, 'server.json');
  writeFileSync(
    config,
    JSON.stringify({
      broker: { host: '127.0.0.1', port, secretPassword: password, readerPassword, ...(opts.auth ? { auth: opts.auth } : {}), allowedHosts: opts.allowedHosts, dataDir: path.join(opts.dir, 'broker'), ...(opts.tls ? { tls: { port: tlsPort, ...opts.tls } } : {}) },
      ingestor: { brokerUrl, password: readerPassword, influx: { url: opts.influxUrl, database: opts.db }, flushIntervalMs: 200, dataDir: path.join(opts.dir, 'ingestor') },
      log: { level: 'warn' },
    }),
  );
  const programs = ['broker', 'ingestor'].map((command) => machmonProgram({ command, configFile: config, name: command, env: process.env }));
  const logs = () => programs.map((p) => p.output(200)).join('\n');
  const stop = async () => {
    for (const p of [...programs].reverse()) await p.stop();
  };
  try {
    await programs[0]!.start();
    await waitForPort(port);
    if (tlsPort) await waitForPort(tlsPort);
    await programs[1]!.start();
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${logs()}`);
  }
  return { port, brokerUrl, tlsUrl: tlsPort ? `mqtts://127.0.0.1:${tlsPort}` : undefined, password, hostKey: (hostname) => hostKey(password, hostname), influxUrl: opts.influxUrl, db: opts.db, logs, stop };
}

/** Waits until every wanted measurement has a point with this hostname (or the deadline passes); returns those seen. */
export async function waitForMeasurements(server: Server, host: string, wanted: readonly string[], timeoutMs: number, alive: () => boolean): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline && alive()) {
    const q = `SHOW MEASUREMENTS WHERE "hostname" = '${host}'`;
    try {
      const r = await fetch(`${server.influxUrl}/query?${new URLSearchParams({ db: server.db, q })}`);
      const body = (await r.json()) as { results?: { series?: { values: unknown[][] }[] }[] };
      seen = (body.results?.[0]?.series?.[0]?.values ?? []).map((v) => String(v[0]));
    } catch { /* database not made yet */ }
    if (wanted.every((m) => seen.includes(m))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return seen;
}
