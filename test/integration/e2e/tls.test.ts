// The whole pipeline over mqtts with a private CA: broker.tls + agent.caFile + ingestor.caFile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgent, type AgentService } from '../../../agent/runtime/agent.js';
import { startBroker, type Broker } from '../../../broker/server.js';
import { loadConfig } from '../../../common/config.js';
import { ConfigError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/log.js';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { runCli } from '../../../testkit/cli.js';
import { influxRows } from '../../../testkit/influxd.js';

const influxUrl = inject('influxUrl');
const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const PASSWORD = 'tls fleet';
const READER_PASSWORD = 'tls readers';
const DB = `t_tls_${process.pid}`;
let broker: Broker;
let ingestor: Ingestor;
let agent: AgentService | undefined;

beforeAll(async () => {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const cfg = loadConfig({
    raw: {
      broker: { host: '127.0.0.1', port: 0, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: ['tls-pi'], tls: { port: 0, cert, key }, dataDir: path.join(dir, 'broker') },
    },
    sections: ['broker'],
  });
  broker = await startBroker(cfg.broker!, silentLogger);
});

afterAll(async () => {
  await agent?.stop();
  await ingestor?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const url = () => `mqtts://127.0.0.1:${broker.tlsPort}`;

describe('mqtts with a private CA', () => {
  it('agent and ingestor trust the broker through caFile, and readings are stored', async () => {
    const cfg = loadConfig({
      raw: {
        ingestor: { brokerUrl: url(), password: READER_PASSWORD, caFile: cert, clientId: 'tls-ingestor', influx: { url: influxUrl, database: DB }, flushIntervalMs: 100 },
        agent: {
          brokerUrl: url(), hostname: 'tls-pi', password: PASSWORD, caFile: cert, dataDir: path.join(dir, 'agent'), intervalMs: 500,
          metrics: { cpu: { enabled: true }, mem: { enabled: true }, ...Object.fromEntries(['cpusNumber', 'disk', 'temperature', 'partitions', 'ioRatio', 'logs', 'processesNumber', 'process', 'latency', 'networkMetrics', 'systemAdditionalInfo', 'piHealth'].map((m) => [m, { enabled: false }])) },
        },
      },
      sections: ['ingestor', 'agent'],
    });
    ingestor = await startIngestor(cfg.ingestor!, silentLogger);
    agent = await startAgent(cfg.agent!, silentLogger);
    const deadline = Date.now() + 20_000;
    let rows: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      rows = await influxRows(influxUrl, DB, `SELECT "userPercentage" FROM "Monthly"."Cpu" WHERE hostname = 'tls-pi'`).catch(() => []);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows.length).toBeGreaterThan(0);
  });

  it('an unreadable caFile is a configuration error naming the key', async () => {
    const cfg = loadConfig({ raw: { agent: { password: 'p', caFile: path.join(dir, 'missing.pem'), dataDir: path.join(dir, 'a2') } }, sections: ['agent'] });
    await expect(startAgent(cfg.agent!, silentLogger)).rejects.toThrow(ConfigError);
    await expect(startAgent(cfg.agent!, silentLogger)).rejects.toThrow(/agent\.caFile: cannot read .*missing\.pem/);
    const r = await runCli(['agent'], { env: { MACHMON_AGENT_PASSWORD: 'p', MACHMON_AGENT_CA_FILE: path.join(dir, 'missing.pem'), MACHMON_AGENT_DATA_DIR: path.join(dir, 'a3') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('agent.caFile');
  });
});
