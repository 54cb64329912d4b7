import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeMetric, encodeMetric, METRIC_NAMES, METRICS, metricSpec, type MetricName } from '../../../common/schema.js';

// Measurement -> InfluxDB field names (and tags) as stored since the first release: existing
// databases and the dashboards query these names, so a rename is a breaking change.
const STORED_NAMES: Record<MetricName, { measurement: string; fields: string[]; tags?: string[] }> = {
  cpusNumber: { measurement: 'CpusNumber', fields: ['cpusTotalNumber', 'cpusUsageNumber'] },
  cpu: { measurement: 'Cpu', fields: ['userPercentage', 'nicePercentage', 'systemPercentage', 'iowaitPercentage', 'stealPercentage', 'idlePercentage'] },
  mem: { measurement: 'Mem', fields: ['totalMem', 'usedMem', 'freeMem', 'sharedMem', 'buffersMem', 'cachedMem', 'swapTotalMem', 'swapUsedMem', 'swapFreeMem', 'totalRAM', 'usedRAM', 'freeRAM'] },
  disk: { measurement: 'Disk', fields: ['identificatorName', 'totalDisk', 'usedDisk', 'freeDisk', 'usagePercentDisk'] },
  temperature: { measurement: 'Temperature', fields: ['degrees'], tags: ['sensor', 'source'] },
  partitions: { measurement: 'Partitions', fields: ['identificatorName', 'type', 'totalDisk', 'usedDisk', 'freeDisk', 'usagePercentDisk', 'mountPoint', 'readOnly', 'fsErrors'] },
  ioRatio: { measurement: 'IoRatio', fields: ['deviceName', 'transfersPerSecond', 'kilobytesReadsPerSecond', 'kilobytesWrittenPerSecond', 'kilobytesRead', 'kilobytesWritten', 'bytesWritten', 'bytesWrittenSinceBoot'] },
  logs: { measurement: 'Logs', fields: ['date', 'nameHost', 'process', 'message'] },
  processesNumber: { measurement: 'ProcessesNumber', fields: ['activeProcessesNumber', 'totalProcessesNumber'] },
  process: { measurement: 'Process', fields: ['usedPercentageCpu', 'usedPercentageMem', 'pid', 'nice', 'group', 'user', 'state', 'start', 'cpuTime', 'command'] },
  latency: { measurement: 'Latency', fields: ['minRTT', 'meanRTT', 'maxRTT', 'mdevRTT', 'packageTransmitted', 'packageReceived', 'packageLossPercentage', 'timeRequest', 'clientServer'] },
  networkMetrics: { measurement: 'NetworkMetrics', fields: ['networkCardName', 'IP', 'netMask', 'broadcastAddress', 'IPv6Address', 'MACAddress', 'connectionProtocol', 'MTU', 'txQueueLen', 'RXPackages', 'RXErrors', 'TXPackages', 'TXErrors', 'collisions', 'wirelessLinkQuality', 'wirelessSignalDbm', 'wirelessNoiseDbm', 'linkSpeedMbps'] },
  systemAdditionalInfo: { measurement: 'SystemAdditionalInfo', fields: ['systemRunningTime', 'usersLoggedInNumber', 'systemLoadAverage1M', 'systemLoadAverage5M', 'systemLoadAverage15M'] },
  // Added beyond the original design: Raspberry Pi throttling and the agent's own outbox.
  piHealth: { measurement: 'PiHealth', fields: ['throttledRaw', 'underVoltageNow', 'frequencyCappedNow', 'throttledNow', 'softTempLimitNow', 'underVoltageSinceBoot', 'frequencyCappedSinceBoot', 'throttledSinceBoot', 'softTempLimitSinceBoot', 'hwmonUnderVoltageAlarm', 'model', 'armClockKHz', 'serial', 'revision'] },
  fan: { measurement: 'Fan', fields: ['rpm', 'pwmPercent'] },
  cpuFreq: { measurement: 'CpuFreq', fields: ['curKHz', 'minKHz', 'maxKHz'] },
  agentHealth: { measurement: 'AgentHealth', fields: ['outboxMessages', 'outboxBytes', 'oldestUnconfirmedAgeMs', 'droppedTotal', 'resentTotal', 'collectorFailuresTotal'] },
};

// A value of the right kind for every field, so that a round trip exercises each one.
function sample(name: MetricName): Record<string, unknown> {
  const spec = metricSpec(name);
  const row: Record<string, unknown> = {};
  spec.fields.forEach((f, i) => {
    row[f.name] = f.kind === 'string' ? `v${i}-ü` : f.kind === 'int' ? (f.unit === 'kilobytes' ? 2 ** 40 + i : i) : i + 0.5;
  });
  const header = { hostname: 'pi-1', system: 'Raspbian', sampleTimeMs: 1_795_000_000_123, seq: 42, agentVersion: '0.1.0' };
  return spec.multiRow ? { header, rows: [row, { ...row }] } : { header, ...row };
}

describe('schema', () => {
  it('knows the 13 metric groups of the original design and the two added ones', () => {
    expect([...METRIC_NAMES].sort()).toEqual(Object.keys(STORED_NAMES).sort());
  });

  it.each(METRIC_NAMES)('%s maps exactly onto the stored measurement and field names', (name) => {
    const spec = metricSpec(name);
    expect(spec.measurement).toBe(STORED_NAMES[name].measurement);
    expect(spec.fields.flatMap((f) => (f.influx ? [f.influx] : [])).sort()).toEqual([...STORED_NAMES[name].fields].sort());
    for (const t of STORED_NAMES[name].tags ?? []) expect(spec.fields.some((f) => f.tag === t)).toBe(true);
  });

  it.each(METRIC_NAMES)('%s round-trips through encode/decode with every field and 64-bit values as numbers', (name) => {
    const msg = sample(name);
    expect(decodeMetric(name, encodeMetric(name, msg as never))).toEqual(msg);
  });

  it('keeps presence: an unset field is absent, a real zero is 0', () => {
    const decoded = decodeMetric('mem', encodeMetric('mem', { header: { hostname: 'h' }, swapUsedKb: 0 }));
    expect(decoded.swapUsedKb).toBe(0);
    expect('swapTotalKb' in decoded).toBe(false);
  });

  it('rejects bytes that are not a message', () => {
    expect(() => decodeMetric('cpu', Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow();
    expect(() => decodeMetric('partitions', encodeMetric('partitions', { header: { hostname: 'h' }, rows: [{ device: 'x'.repeat(300) }] }).subarray(0, 20))).toThrow();
  });

  it('every field of every group carries a unit and an InfluxDB name or tag', () => {
    for (const spec of METRICS.values()) {
      for (const f of spec.fields) {
        expect(f.unit, `${spec.name}.${f.name}`).toBeTruthy();
        expect(f.influx ?? f.tag, `${spec.name}.${f.name}`).toBeTruthy();
      }
    }
  });

  it('the generated proto/gen/machmon.ts is up to date with the .proto', () => {
    execFileSync(process.execPath, ['scripts/gen-proto.mjs', '--check'], { stdio: 'pipe' });
  });

  it('the .proto passes buf lint (STANDARD rules)', () => {
    execFileSync('npx', ['buf', 'lint'], { stdio: 'pipe' });
  });
});
