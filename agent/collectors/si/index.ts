// The systeminformation source (agent.source, README "Other systems: macOS and Windows"): the
// collectors of the groups systeminformation can give, producing the same messages as the
// procfs collectors (the mapping: map.ts). Groups it cannot give are not run, and said so once
// at start (SI_MISSING_GROUPS). Latency (TCP probe or ping) is the same collector on every
// source; logs too, on Linux only (syslog or the journal; the macOS unified log and the Windows
// event log are not read: the group is unavailable there, logged once).
//
// Cost: one SiSource per agent, shared by the groups. Calls whose result never changes (cpu(),
// osInfo()) are made once; processes(), networkInterfaces() and users() at most once per
// agent.systeminformation.slowIntervalMs (source.ts every()); the rest on each group's interval.
import { SensorError } from '../../../common/errors.js';
import { logOnce, type LogOnce } from '../shared/log-once.js';
import { MOCK_BASE_CELSIUS, MOCK_SPREAD_CELSIUS } from '../temperature.js';
import { collector as latency } from '../latency.js';
import { collector as logs } from '../logs.js';
import { NoDataError, type CollectorContext, type CollectorEntry, type Reading } from '../types.js';
import type { CollectorTable } from '../../runtime/runner.js';
import type { MetricName } from '../../../common/schema.js';
import { mapCpu, mapCpusNumber, mapDisk, mapFilesystems, mapMem, mapNetwork, mapPartitions, mapProcessesNumber, mapProcessTop, mapSystemAdditionalInfo, mapTemperature, type Mapped } from './map.js';
import { every, once as callOnce, type SiSource } from './source.js';

/** Groups of the procfs source that systeminformation cannot give, and why (logged once at start). */
export const SI_MISSING_GROUPS: Partial<Record<MetricName, string>> = {
  ioRatio: 'systeminformation sums the I/O of all disks into one figure (disksIO), no per-device counters',
  piHealth: 'Raspberry Pi firmware values are read from sysfs (procfs source)',
  fan: 'systeminformation has no fan speeds',
  cpuFreq: 'cpufreq policies are read from sysfs (procfs source)',
};

/** Logs the fields a mapping left unset, once per field (and again if it came back and went). */
function noteUnset(once: LogOnce, m: Mapped<unknown>, present: object): void {
  for (const [field, reason] of Object.entries(m.unset)) {
    if (field in present) continue;
    once.log(`unset:${field}`, 'info', { field, reason }, 'field not given by the systeminformation source: left unset');
  }
}

function settle<T>(once: LogOnce, key: string, p: Promise<T>, msg: string): Promise<T | undefined> {
  return p.then(
    (v) => {
      once.ok(key);
      return v;
    },
    (err: unknown) => {
      once.warn(key, err, msg);
      return undefined;
    },
  );
}

export interface SiTableOptions {
  readonly si: SiSource;
  readonly slowIntervalMs: number;
  /** Wall clock (boot time). */
  readonly now?: () => number;
}

/** The collector table of the systeminformation source; agentHealth is added by the agent as for procfs. */
export function siCollectors({ si, slowIntervalMs, now = Date.now }: SiTableOptions): CollectorTable {
  const platform = si.platform;
  // Shared by every group of this agent.
  const cpuInfo = callOnce(() => si.cpu());
  const processes = every(slowIntervalMs, () => si.processes());
  const interfaces = every(slowIntervalMs, () => si.networkInterfaces());
  const users = every(slowIntervalMs, () => si.users());
  // disk and partitions tick together: one df (fsSize) serves both, as the procfs source's
  // filesystem read does; a group's next tick (>= 1 s later) calls again.
  const fsSize = every(500, () => si.fsSize());

  const entry = <M extends MetricName>(name: M, collect: (ctx: CollectorContext, once: LogOnce) => () => Promise<Reading<M>>, defaultIntervalMs?: number): CollectorEntry<M> => ({
    defaultEnabled: true,
    ...(defaultIntervalMs !== undefined ? { defaultIntervalMs } : {}),
    create: (ctx) => ({ name, collect: collect(ctx, logOnce(ctx.log)) }),
  });

  const table: CollectorTable = {
    cpusNumber: entry('cpusNumber', (_ctx, once) => async () => {
      const [info, load] = await Promise.all([settle(once, 'cpu', cpuInfo(), 'systeminformation cpu() failed; cpusTotalNumber stays unset'), si.currentLoad()]);
      const m = mapCpusNumber(info ?? { cores: 0 }, load);
      if (Object.keys(m.reading).length === 0) throw new SensorError('cpusNumber: systeminformation gave no CPU count');
      noteUnset(once, m, m.reading);
      return m.reading;
    }),
    cpu: entry('cpu', (_ctx, once) => async () => {
      const m = mapCpu(await si.currentLoad(), platform);
      if (!m) throw new NoDataError('cpu: no CPU time passed since the previous sample');
      noteUnset(once, m, m.reading);
      return m.reading;
    }),
    mem: entry('mem', (_ctx, once) => async () => {
      const m = mapMem(await si.mem(), platform);
      noteUnset(once, m, m.reading);
      return m.reading;
    }),
    disk: entry('disk', () => async () => {
      const fss = mapFilesystems(await fsSize.get(), platform);
      if (fss.length === 0) throw new NoDataError('disk: systeminformation fsSize() listed no disk filesystem');
      return mapDisk(fss);
    }),
    partitions: entry('partitions', (_ctx, once) => async () => {
      const fss = mapFilesystems(await fsSize.get(), platform);
      if (fss.length === 0) throw new NoDataError('partitions: systeminformation fsSize() listed no disk filesystem');
      const m = mapPartitions(fss);
      noteUnset(once, m, {});
      return m.reading;
    }),
    processesNumber: entry(
      'processesNumber',
      (_ctx, once) => async () => {
        const m = mapProcessesNumber(await processes.get());
        if (m.reading.total === 0) throw new SensorError('processesNumber: systeminformation processes() listed no process');
        noteUnset(once, m, m.reading);
        return m.reading;
      },
      slowIntervalMs,
    ),
    process: entry('process', (ctx, once) => async () => {
      const [list, load] = await Promise.all([processes.get(), si.currentLoad()]);
      const m = mapProcessTop(list, ctx.config.metrics.process.top, load.cpus.length || 1, platform);
      if (!m.reading.rows?.length) throw new SensorError('process: systeminformation processes() listed no process');
      noteUnset(once, m, {});
      return m.reading;
    }),
    networkMetrics: entry('networkMetrics', (_ctx, once) => async () => {
      const list = await interfaces.get();
      if (list.length === 0) throw new NoDataError('networkMetrics: systeminformation lists no network interface');
      const stats = await settle(once, 'networkStats', si.networkStats(list.map((i) => i.iface).join(',')), 'systeminformation networkStats() failed; error counters stay unset');
      const m = mapNetwork(list, stats ?? []);
      noteUnset(once, m, {});
      return m.reading;
    }),
    systemAdditionalInfo: entry('systemAdditionalInfo', (_ctx, once) => async () => {
      const who = await settle(once, 'users', users.get(), 'systeminformation users() failed; usersLoggedInNumber stays unset');
      const m = mapSystemAdditionalInfo(si.time().uptime, now(), who, si.loadavg(), platform);
      if (Object.keys(m.reading).length === 0) throw new SensorError('systemAdditionalInfo: neither boot time, users nor load could be read');
      noteUnset(once, m, m.reading);
      return m.reading;
    }),
    temperature: entry('temperature', (ctx, once) => async () => {
      const sources = ctx.config.temperature.sources;
      const t = await settle(once, 'cpuTemperature', si.cpuTemperature(), 'systeminformation cpuTemperature() failed');
      const rows = t ? mapTemperature(t) : [];
      if (rows.length === 0) {
        once.log('no-sensor', 'info', { platform }, platform === 'darwin' ? 'systeminformation reads no temperature on macOS without its optional native sensor module' : 'systeminformation cpuTemperature() gave no value');
        if (sources.includes('mock')) rows.push({ sensor: 'mock', source: 'mock', degreesCelsius: MOCK_BASE_CELSIUS + Math.random() * MOCK_SPREAD_CELSIUS });
      } else once.clear('no-sensor');
      if (rows.length === 0) throw new NoDataError('temperature: no value from systeminformation cpuTemperature()');
      return { rows };
    }),
    latency,
    logs: {
      ...logs,
      create: (ctx) => {
        if (platform === 'linux') return logs.create(ctx);
        const once = logOnce(ctx.log);
        return {
          name: 'logs',
          collect: async () => {
            once.log('unavailable', 'info', { platform }, `no system log on ${platform}: the agent reads syslog or the systemd journal, not the macOS unified log or the Windows event log`);
            throw new NoDataError(`logs: not read on ${platform}`);
          },
        };
      },
    },
  };
  return table;
}
