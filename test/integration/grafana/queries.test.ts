// Every query of every dashboard, run as Grafana would send it, against the real influxd of
// the test harness after a real pipeline run: broker + ingestor + two agents in this process
// on random ports. One agent reads this machine; the other plays a Raspberry Pi from the
// sysfs fixture trees (PiHealth, 1-Wire sensors) and a system log this test appends to. A third,
// `machmon agent` as a process of its own (the compiled dist/: `npx tsc -p tsconfig.json` first)
// with agent.source systeminformation, reads this machine the way a Mac or a Windows PC is read
// (README "Other systems: macOS and Windows"): every group that source provides must be stored
// and every dashboard query of those groups must return its data.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { silentLogger } from '../../../common/log.js';
import type { Service } from '../../../common/service.js';
import { formatVariable, loadDashboards, panelQueries, queryRefs, substitute, variableQuery, type PanelQuery } from '../../../testkit/dashboard-model.js';
import { influxQuery, type QueryResult } from '../../../testkit/influxd.js';
import { freePort } from '../../../testkit/ports.js';
import { hostTree } from '../../../testkit/fixtures.js';
import { Program } from '../../../testkit/processes.js';
import { MACHMON } from '../../../testkit/repo.js';

const influxUrl = inject('influxUrl');
const db = `t_grafana_${randomBytes(4).toString('hex')}`;
const PASSWORD = 'grafana-test-fleet-password';
const READER_PASSWORD = 'grafana-test-reader-password';
/** This machine, read live. */
const LOCAL = 'gf-local';
/** A Raspberry Pi made of fixture trees; the dot checks that Grafana's regex escaping is matched. */
const PI = 'gf-pi.lan';
/** `machmon agent` with agent.source systeminformation, reading this machine. */
const SI = 'gf-si';
/**
 * Measurements the systeminformation source does not write: groups it does not provide
 * (agent/collectors/si/index.ts SI_MISSING_GROUPS), the system log (none on this machine, as for
 * LOCAL) and the ingestor's own.
 */
const NOT_FROM_SI = new Set(['IoRatio', 'PiHealth', 'Fan', 'CpuFreq', 'Logs', 'MachmonIngestor', 'MachmonBroker']);
/**
 * Fields it leaves unset on Linux (README "Other systems: macOS and Windows", the field table),
 * and linkSpeedMbps, which this VM's virtio NIC does not report (-1) to either source.
 */
const NOT_FROM_SI_FIELDS = new Set(['iowaitPercentage', 'sharedMem', 'fsErrors', 'cpuTime', 'group', 'RXPackages', 'TXPackages', 'collisions', 'connectionProtocol', 'txQueueLen', 'wirelessSignalDbm', 'wirelessNoiseDbm', 'wirelessLinkQuality', 'linkSpeedMbps']);
const siShows = (query: string) => {
  const refs = queryRefs(query);
  return !NOT_FROM_SI.has(refs.measurements[0]!) && !(refs.selected.length > 0 && refs.selected.every((f) => NOT_FROM_SI_FIELDS.has(f)));
};
/** Publishes a malformed reading, so the ingestor has a rejection to count. */
const BAD = 'gf-bad';
/** Measurements only the fixture Pi reports (not a Pi here; the system log is the test's; no fan or cpufreq in this VM). */
const PI_ONLY = new Set(['PiHealth', 'Logs', 'Fan', 'CpuFreq']);
/** Fields only the fixture Pi reports in a measurement both hosts send (this machine has no Wi-Fi). */
const PI_ONLY_FIELDS = new Set(['wirelessSignalDbm', 'wirelessNoiseDbm', 'wirelessLinkQuality']);
/** Measurements a query reads only the Pi's values of. */
const piOnly = (query: string) => {
  const refs = queryRefs(query);
  return PI_ONLY.has(refs.measurements[0]!) || (refs.selected.length > 0 && refs.selected.every((f) => PI_ONLY_FIELDS.has(f)));
};
/** Measurements without a hostname filter (the ingestor's own). */
const UNFILTERED = new Set(['MachmonIngestor', 'MachmonBroker']);
/** Grafana's interval for the time ranges the dashboards open with (the data source's minimum). */
const INTERVAL = '10s';
const RANGE = '1h';
/** How long the queries may wait for the pipeline to have stored what they select. */
const DATA_DEADLINE_MS = 90_000;
/** A query test may wait for the whole deadline. */
const QUERY_TIMEOUT_MS = DATA_DEADLINE_MS + 15_000;

const dashboards = loadDashboards();
const fleet = dashboards.find((d) => d.model.uid === 'machmon-fleet')!.model;
const host = dashboards.find((d) => d.model.uid === 'machmon-host')!.model;

/** The query as Grafana sends it with the given hosts selected in $hostname. */
function grafanaQuery(query: string, hosts: string[], multi: boolean): string {
  return substitute(query, { range: RANGE, interval: INTERVAL, variables: { hostname: formatVariable(hosts, { multi, includeAll: multi }) } });
}

/** Series of the result with at least one non-null value besides time, by hostname tag ('' when not grouped by it). */
function hostsWithValues(res: QueryResult): Set<string> {
  const out = new Set<string>();
  for (const s of res.series ?? []) {
    const valueCols = s.columns.map((c, i) => (c === 'time' ? -1 : i)).filter((i) => i >= 0);
    const hasValue = s.values.some((row) => valueCols.some((i) => row[i] !== null && row[i] !== undefined && !(s.columns[i] === 'hostname')));
    if (!hasValue) continue;
    const tagHost = s.tags?.hostname;
    if (tagHost !== undefined) out.add(tagHost);
    else {
      // table results of a GROUP BY "hostname" carry it as a column in some versions
      const col = s.columns.indexOf('hostname');
      if (col >= 0) for (const row of s.values) out.add(String(row[col]));
      else out.add('');
    }
  }
  return out;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, deadline: number): Promise<T> {
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: nothing after waiting until the deadline${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('dashboard queries are valid InfluxQL for InfluxDB 1.x', () => {
  const emptyDb = `${db}_syntax`;
  beforeAll(async () => {
    const r = await fetch(`${influxUrl}/query?${new URLSearchParams({ q: `CREATE DATABASE "${emptyDb}"` })}`, { method: 'POST' });
    expect(r.ok).toBe(true);
  });
  afterAll(async () => {
    await fetch(`${influxUrl}/query?${new URLSearchParams({ q: `DROP DATABASE "${emptyDb}"` })}`, { method: 'POST' });
  });
  it.each([...panelQueries(fleet), ...panelQueries(host)].map((q) => [`${q.dashboard} #${q.panel.id} ${q.panel.title} ${q.refId}`, q] as const))('%s', async (_name, q) => {
    // An empty database answers a well-formed query with no series and no error; influxQuery
    // throws on a parse error, and a semantic one (a function used wrongly) comes back as error.
    const res = await influxQuery(influxUrl, emptyDb, grafanaQuery(q.query, [LOCAL, PI], true));
    expect(res.error).toBeUndefined();
  });
});

describe('every dashboard query returns data after a real pipeline run', () => {
  const services: Service[] = [];
  const dirs: string[] = [];
  let siAgent: Program | undefined;
  let logTimer: NodeJS.Timeout | undefined;
  let deadline = 0;
  let setupError: Error | undefined;

  beforeAll(async () => {
    try {
      const { startBroker } = await import('../../../broker/server.js');
      const { startIngestor } = await import('../../../ingestor/ingestor.js');
      const { startAgent } = await import('../../../agent/runtime/agent.js');

      const tmp = mkdtempSync(path.join(os.tmpdir(), 'machmon-grafana-'));
      dirs.push(tmp);
      // The Pi: sysfs of a Pi 4 (get_throttled, hwmon under-voltage alarm, device-tree model),
      // 1-Wire sensors of a Pi 3, and a syslog file that grows during the run; the network
      // interfaces of a Pi 4 with the Wi-Fi of a Pi 5 (/proc/net/wireless), and the Pi 5's fan.
      const piRoot = path.join(tmp, 'pi-root');
      cpSync(hostTree('pi4'), piRoot, { recursive: true, verbatimSymlinks: true });
      cpSync(hostTree('net-pi4'), piRoot, { recursive: true, verbatimSymlinks: true });
      cpSync(hostTree('pi5/proc/net/wireless'), path.join(piRoot, 'proc/net/wireless'));
      cpSync(hostTree('pi5/sys/devices/platform/cooling_fan'), path.join(piRoot, 'sys/devices/platform/cooling_fan'), { recursive: true });
      cpSync(hostTree('pi5/sys/class/hwmon/hwmon2'), path.join(piRoot, 'sys/class/hwmon/hwmon2'), { verbatimSymlinks: true });
      // No pwm1 of a Pi 5 was ever recorded; 75 is the first step of the Pi 5 device tree's
      // fan cooling-levels (0 75 125 175 250), so the duty panel has a value to show.
      writeFileSync(path.join(piRoot, 'sys/devices/platform/cooling_fan/hwmon/hwmon2/pwm1'), '75\n');
      // No Pi recording of cpufreq exists among the fixtures; the non-Pi tree's recorded file has
      // the same format (kHz), so the ARM clock panels get a value.
      const cpufreq = path.join('sys', 'devices', 'system', 'cpu', 'cpu0', 'cpufreq');
      cpSync(path.join(hostTree('non-pi'), cpufreq), path.join(piRoot, cpufreq), { recursive: true });
      mkdirSync(path.join(piRoot, 'var', 'log'), { recursive: true });
      const syslog = path.join(piRoot, 'var', 'log', 'syslog');
      writeFileSync(syslog, '');
      let n = 0;
      const appendLog = () => {
        const d = new Date();
        const stamp = d.toLocaleString('en-US', { month: 'short' }) + ' ' + String(d.getDate()).padStart(2, ' ') + ' ' + d.toTimeString().slice(0, 8);
        appendFileSync(syslog, `${stamp} ${PI} kernel: [ ${(n++).toFixed(6)}] grafana test line ${n}\n`);
      };
      appendLog();
      logTimer = setInterval(appendLog, 500);

      const port = await freePort();
      const brokerUrl = `mqtt://127.0.0.1:${port}`;
      const agentRaw = (hostname: string, extra: Record<string, unknown>) => ({
        brokerUrl,
        hostname,
        password: PASSWORD,
        system: hostname === PI ? 'Raspbian' : 'Debian',
        intervalMs: 1000,
        metrics: { process: { intervalMs: 1000, top: 5 }, latency: { intervalMs: 1000 }, logs: { enabled: true, intervalMs: 1000 } },
        latency: { count: 1, timeoutMs: 500 },
        dataDir: path.join(tmp, `agent-${hostname}`),
        ...extra,
      });
      const cfg = loadConfig({
        raw: {
          broker: { host: '127.0.0.1', port, secretPassword: PASSWORD, readerPassword: READER_PASSWORD, allowedHosts: [LOCAL, PI, BAD, SI], readers: ['ingestor'], dataDir: path.join(tmp, 'broker'), statsIntervalMs: 1000 },
          ingestor: {
            brokerUrl,
            password: READER_PASSWORD,
            influx: { url: influxUrl, database: db },
            flushIntervalMs: 200,
            statsIntervalMs: 1000,
            dataDir: path.join(tmp, 'ingestor'),
          },
          agent: agentRaw(LOCAL, {}),
        },
        sections: ['broker', 'ingestor', 'agent'],
        env: {},
      });
      const piCfg = loadConfig({
        raw: { agent: agentRaw(PI, { rootDir: piRoot, temperature: { sysfsRoot: hostTree('pi3'), sources: ['w1', 'thermal'] } }) },
        sections: ['agent'],
        env: {},
      });

      services.push(await startBroker(cfg.broker!, silentLogger));
      services.push(await startIngestor(cfg.ingestor!, silentLogger));
      services.push(await startAgent(cfg.agent!, silentLogger));
      services.push(await startAgent(piCfg.agent!, silentLogger));
      const siConfig = path.join(tmp, 'agent-si.json');
      writeFileSync(siConfig, JSON.stringify({ agent: { ...agentRaw(SI, {}), system: undefined, source: 'systeminformation', systeminformation: { slowIntervalMs: 2000 }, metrics: { process: { intervalMs: 2000, top: 5 }, latency: { intervalMs: 1000 }, processesNumber: { intervalMs: 2000 } } }, log: { level: 'info' } }));
      siAgent = new Program({ name: 'machmon agent (systeminformation)', cmd: process.execPath, args: [MACHMON, 'agent', '--config', siConfig], logFile: path.join(tmp, 'agent-si.log') });
      await siAgent.start('collectors started');

      // A reading that is not protobuf: the ingestor rejects it and counts it by reason.
      const bad = await mqtt.connectAsync(brokerUrl, { username: BAD, password: PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
      await bad.publishAsync(`machmon/${BAD}/cpu`, Buffer.from('this is not protobuf'), { qos: 1 });
      await bad.endAsync();
      // A login with a wrong password: the broker counts the refusal (MachmonBroker, by reason).
      await mqtt.connectAsync(brokerUrl, { username: BAD, password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 }).then((c) => c.endAsync(), () => undefined);
      deadline = Date.now() + DATA_DEADLINE_MS;
    } catch (err) {
      setupError = err as Error;
    }
  }, 60_000);

  afterAll(async () => {
    if (logTimer) clearInterval(logTimer);
    await siAgent?.stop();
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  const requirePipeline = () => {
    if (setupError) throw new Error(`the pipeline (broker/server.ts startBroker, ingestor/ingestor.ts startIngestor, agent/runtime/agent.ts startAgent) did not start: ${setupError.message}`);
  };

  it('lists both hosts in the hostname variable', async () => {
    requirePipeline();
    for (const v of [...fleet.templating.list, ...host.templating.list]) {
      const hosts = await waitFor(`variable ${v.name}`, async () => {
        const res = await influxQuery(influxUrl, db, variableQuery(v));
        const values = new Set((res.series ?? []).flatMap((s) => s.values.map((row) => String(row[s.columns.indexOf('value')]))));
        return values.has(LOCAL) && values.has(PI) ? values : undefined;
      }, deadline);
      expect(hosts).toContain(LOCAL);
      expect(hosts).toContain(PI);
    }
  }, QUERY_TIMEOUT_MS);

  /** Hosts whose data the query must show, given the measurement it reads. */
  const expectedHosts = (q: PanelQuery, selected: string[]) => {
    const m = queryRefs(q.query).measurements[0]!;
    if (UNFILTERED.has(m)) return [''];
    return piOnly(q.query) ? selected.filter((h) => h === PI) : selected.filter((h) => h === LOCAL);
  };

  it.each(panelQueries(fleet).map((q) => [`#${q.panel.id} ${q.panel.title} ${q.refId}`, q] as const))('fleet %s, with All hosts selected', async (_name, q) => {
    requirePipeline();
    const sent = grafanaQuery(q.query, [LOCAL, PI], true);
    expect(sent, 'every Grafana macro and variable substituted').not.toMatch(/\$[A-Za-z_{]/);
    const want = expectedHosts(q, [LOCAL, PI]);
    const got = await waitFor(`fleet panel "${q.panel.title}": ${sent}`, async () => {
      const h = hostsWithValues(await influxQuery(influxUrl, db, sent));
      return want.every((w) => (w === '' ? h.size > 0 : h.has(w))) ? h : undefined;
    }, deadline);
    for (const w of want) if (w) expect(got).toContain(w);
  }, QUERY_TIMEOUT_MS);

  it.each(panelQueries(host).map((q) => [`#${q.panel.id} ${q.panel.title} ${q.refId}`, q] as const))('host %s', async (_name, q) => {
    requirePipeline();
    const one = piOnly(q.query) ? PI : LOCAL;
    const sent = grafanaQuery(q.query, [one], false);
    expect(sent, 'every Grafana macro and variable substituted').not.toMatch(/\$[A-Za-z_{]/);
    await waitFor(`host panel "${q.panel.title}" for ${one}: ${sent}`, async () => {
      const h = hostsWithValues(await influxQuery(influxUrl, db, sent));
      return h.size > 0 ? h : undefined;
    }, deadline);
    // The host filter keeps the other host out.
    const other = hostsWithValues(await influxQuery(influxUrl, db, sent));
    expect(other.has(one === PI ? LOCAL : PI)).toBe(false);
  }, QUERY_TIMEOUT_MS);
  it('stores every group the systeminformation source provides, from a `machmon agent` process', async () => {
    requirePipeline();
    const want = [...new Set([...panelQueries(host), ...panelQueries(fleet)].map((q) => queryRefs(q.query).measurements[0]!))].filter((m) => !NOT_FROM_SI.has(m)).sort();
    expect(want).toEqual(expect.arrayContaining(['AgentHealth', 'Cpu', 'CpusNumber', 'Disk', 'Latency', 'Mem', 'NetworkMetrics', 'Partitions', 'Process', 'ProcessesNumber', 'SystemAdditionalInfo', 'Temperature']));
    const stored = await waitFor(`measurements of ${SI}`, async () => {
      const res = await influxQuery(influxUrl, db, `SHOW MEASUREMENTS WHERE "hostname" = '${SI}'`);
      const names = new Set((res.series ?? []).flatMap((x) => x.values.map((row) => String(row[0]))));
      return want.every((m) => names.has(m)) ? names : undefined;
    }, deadline);
    expect([...stored].filter((m) => want.includes(m)).sort()).toEqual(want);
    // The same system name as the procfs source gives this machine (os-release), none invented.
    const sys = await influxQuery(influxUrl, db, `SHOW TAG VALUES FROM "Mem" WITH KEY = "system" WHERE "hostname" = '${SI}'`);
    expect(sys.series?.[0]?.values.map((row) => row[1])).toHaveLength(1);
    expect(siAgent?.running).toBe(true);
  }, QUERY_TIMEOUT_MS);

  it.each(panelQueries(host).filter((q) => siShows(q.query)).map((q) => [`#${q.panel.id} ${q.panel.title} ${q.refId}`, q] as const))('host %s, for the systeminformation agent', async (_name, q) => {
    requirePipeline();
    const sent = grafanaQuery(q.query, [SI], false);
    await waitFor(`host panel "${q.panel.title}" for ${SI}: ${sent}`, async () => {
      const h = hostsWithValues(await influxQuery(influxUrl, db, sent));
      return h.size > 0 ? h : undefined;
    }, deadline);
  }, QUERY_TIMEOUT_MS);

  it.each(panelQueries(fleet).filter((q) => siShows(q.query) && !UNFILTERED.has(queryRefs(q.query).measurements[0]!)).map((q) => [`#${q.panel.id} ${q.panel.title} ${q.refId}`, q] as const))('fleet %s, shows the systeminformation agent', async (_name, q) => {
    requirePipeline();
    const sent = grafanaQuery(q.query, [LOCAL, PI, SI], true);
    const got = await waitFor(`fleet panel "${q.panel.title}": ${sent}`, async () => {
      const h = hostsWithValues(await influxQuery(influxUrl, db, sent));
      return h.has(SI) || h.has('') ? h : undefined;
    }, deadline);
    expect(got.has(SI) || got.has('')).toBe(true);
  }, QUERY_TIMEOUT_MS);
});
