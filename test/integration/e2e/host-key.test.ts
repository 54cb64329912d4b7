// Host keys end to end (README "Security model"): broker.auth "hostKeys", an agent with the key
// `machmon host-key` prints for its hostname stores its readings in InfluxDB; the same key
// under another hostname never logs in, and nothing is stored for that host.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startAgent, type AgentService } from '../../../agent/runtime/agent.js';
import { hostKey } from '../../../broker/credentials.js';
import { startBroker, type Broker } from '../../../broker/server.js';
import { loadConfig } from '../../../common/config.js';
import { METRIC_NAMES } from '../../../common/schema.js';
import { silentLogger } from '../../../common/log.js';
import { startIngestor, type Ingestor } from '../../../ingestor/ingestor.js';
import { influxRows } from '../../../testkit/influxd.js';
import { sleep } from '../../../testkit/wait.js';

const influxUrl = inject('influxUrl');
const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-hostkey-'));
const PASSWORD = 'host key fleet secret';
const READER_PASSWORD = 'host key readers';
const DB = `t_hostkey_${process.pid}`;
let broker: Broker | undefined;
let ingestor: Ingestor | undefined;
const agents: AgentService[] = [];

afterAll(async () => {
  for (const a of agents) await a.stop();
  await ingestor?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cpuOnly = Object.fromEntries(METRIC_NAMES.map((m) => [m, { enabled: m === 'cpu' }]));
const cpuRows = (host: string) => influxRows(influxUrl, DB, `SELECT "userPercentage" FROM "Monthly"."Cpu" WHERE hostname = '${host}'`).catch(() => []);

describe('an agent with its host key', () => {
  it('stores its readings; its key under another hostname is refused and stores nothing', async () => {
    const cfg = loadConfig({
      raw: {
        broker: { host: '127.0.0.1', port: 0, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, auth: 'hostKeys', allowedHosts: ['pi-*'], dataDir: path.join(dir, 'broker'), authThrottle: { baseDelayMs: 0, maxDelayMs: 0 } },
      },
      sections: ['broker'],
      env: {},
    });
    broker = await startBroker(cfg.broker!, silentLogger);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const key = hostKey(PASSWORD, 'pi-kitchen');
    const agentCfg = (hostname: string) =>
      loadConfig({ raw: { agent: { brokerUrl: url, hostname, password: key, dataDir: path.join(dir, hostname), intervalMs: 500, metrics: cpuOnly, reconnect: { minMs: 100, maxMs: 200 } } }, sections: ['agent'], env: {} }).agent!;
    const ing = loadConfig({ raw: { ingestor: { brokerUrl: url, password: READER_PASSWORD, influx: { url: influxUrl, database: DB }, flushIntervalMs: 100 } }, sections: ['ingestor'], env: {} }).ingestor!;
    ingestor = await startIngestor(ing, silentLogger);
    agents.push(await startAgent(agentCfg('pi-kitchen'), silentLogger));
    agents.push(await startAgent(agentCfg('pi-garage'), silentLogger));

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await cpuRows('pi-kitchen')).length < 2) await sleep(200);
    expect((await cpuRows('pi-kitchen')).length).toBeGreaterThanOrEqual(2);
    expect(broker.refusals.bad_password).toBeGreaterThan(0); // pi-garage, trying again and again
    expect(await cpuRows('pi-garage')).toEqual([]);
  }, 40_000);
});
