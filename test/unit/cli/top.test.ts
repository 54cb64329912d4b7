// machmon top's model and screen on messages encoded with the real schema.
import { describe, expect, it } from 'vitest';
import { Fleet, sortRows, type HostRow } from '../../../cli/top-model.js';
import { formatDuration, renderScreen, renderTable } from '../../../cli/top-render.js';
import { encodeMetric } from '../../../common/schema.js';

const header = (hostname: string, seq: number, sampleTimeMs = 1_700_000_000_000 + seq) => ({ hostname, system: 'Raspbian', sampleTimeMs, seq, agentVersion: '0.1.0' });
const T0 = 1_000_000;

function fleetOf(): Fleet {
  const f = new Fleet();
  f.take('machmon/pi-a/status', Buffer.from('online'), T0, true);
  f.take('machmon/pi-a/cpu', encodeMetric('cpu', { header: header('pi-a', 1), idlePercent: 75.5, userPercent: 20 }), T0 + 1000);
  f.take('machmon/pi-a/mem', encodeMetric('mem', { header: header('pi-a', 2), totalMemKb: 1000, usedMemKb: 250 }), T0 + 1000);
  f.take('machmon/pi-a/disk', encodeMetric('disk', { header: header('pi-a', 3), usagePercent: 93 }), T0 + 1000);
  f.take('machmon/pi-a/temperature', encodeMetric('temperature', { header: header('pi-a', 4), rows: [{ sensor: 'cpu', source: 'thermal', degreesCelsius: 51 }, { sensor: 'w1', source: 'w1', degreesCelsius: 83.5 }] }), T0 + 1000);
  f.take('machmon/pi-a/piHealth', encodeMetric('piHealth', { header: header('pi-a', 5), throttledRaw: 0x50005, underVoltageNow: 1, throttledNow: 1, underVoltageSinceBoot: 1, throttledSinceBoot: 1, freqCappedNow: 0, softTempLimitNow: 0 }), T0 + 1000);
  f.take('machmon/pi-b/status', Buffer.from('online'), T0, true);
  f.take('machmon/pi-b/cpu', encodeMetric('cpu', { header: header('pi-b', 1), idlePercent: 10 }), T0 + 2000);
  for (const [i, n] of [3, 7, 12].entries()) f.take('machmon/pi-b/agentHealth', encodeMetric('agentHealth', { header: header('pi-b', 10 + i), outboxMessages: n }), T0 + 2000 + i);
  return f;
}

const byHost = (rows: HostRow[]) => Object.fromEntries(rows.map((r) => [r.host, r]));

describe('machmon top: fleet model', () => {
  it('turns readings into CPU, memory, disk, hottest temperature, Pi flags and backlog, with the sample times', () => {
    const rows = byHost(fleetOf().rows(T0 + 5000));
    const a = rows['pi-a']!;
    expect(a).toMatchObject({ online: true, atLeast: true, forMs: 5000, lastReadingAgeMs: 4000, cpuPercent: 24.5, memPercent: 25, diskPercent: 93, hottestCelsius: 83.5 });
    expect(a.pi).toMatchObject({ underVoltage: true, throttled: true, freqCapped: false });
    expect(a.samples.cpu).toBe(1_700_000_000_001);
    expect(a.problems).toEqual(['under-voltage', 'throttled', 'hot', 'disk full']);
    const b = rows['pi-b']!;
    expect(b).toMatchObject({ cpuPercent: 90, outboxMessages: 12, backlogGrowing: true, pi: undefined, memPercent: undefined });
    expect(b.problems).toEqual(['backlog growing']);
  });

  it('a status change seen live is timed from then; offline is a problem', () => {
    const f = fleetOf();
    f.take('machmon/pi-b/status', Buffer.from('offline'), T0 + 10_000);
    const b = byHost(f.rows(T0 + 12_000))['pi-b']!;
    expect(b).toMatchObject({ online: false, atLeast: false, forMs: 2000 });
    expect(b.problems[0]).toBe('offline');
  });

  it('an online host without a reading for 30 s is stale; --once waits for CPU, memory and disk of online hosts only', () => {
    const f = fleetOf();
    expect(byHost(f.rows(T0 + 40_000))['pi-a']!.problems).toContain('no recent reading');
    expect(f.complete()).toBe(false);
    f.take('machmon/pi-b/status', Buffer.from('offline'), T0 + 3000);
    expect(f.complete()).toBe(true);
  });

  it('reports bad topics and payloads instead of throwing, and ignores confirmations', () => {
    const f = new Fleet();
    expect(f.take('machmon/pi-a/cpu', Buffer.from([0xff, 0xff, 0xff]), T0)).toMatch(/not a valid cpu message/);
    expect(f.take('elsewhere/x', Buffer.from('x'), T0)).toMatch(/is not machmon/);
    expect(f.take('machmon/pi-a/status', Buffer.from('maybe'), T0)).toMatch(/neither online nor offline/);
    expect(f.take('machmon/pi-a/confirm/stored', Buffer.from('{}'), T0)).toBeUndefined();
  });

  it('sorts by host, CPU and temperature (highest first), age (oldest first), missing values last, and reverses', () => {
    const rows = fleetOf().rows(T0 + 5000);
    expect(sortRows(rows, 'host').map((r) => r.host)).toEqual(['pi-a', 'pi-b']);
    expect(sortRows(rows, 'cpu').map((r) => r.host)).toEqual(['pi-b', 'pi-a']);
    expect(sortRows(rows, 'temperature').map((r) => r.host)).toEqual(['pi-a', 'pi-b']);
    expect(sortRows(rows, 'age').map((r) => r.host)).toEqual(['pi-a', 'pi-b']);
    expect(sortRows(rows, 'cpu', true).map((r) => r.host)).toEqual(['pi-a', 'pi-b']);
  });
});

describe('machmon top: screen', () => {
  const rows = sortRows(fleetOf().rows(T0 + 5000), 'host');

  it('prints durations a person reads', () => {
    expect([formatDuration(undefined), formatDuration(4_400), formatDuration(125_000), formatDuration(3 * 3600_000 + 60_000), formatDuration(2 * 86_400_000 + 3600_000)]).toEqual(['-', '4s', '2m05s', '3h01m', '2d01h']);
  });

  it('the table has one line per host with the values and flags', () => {
    const lines = renderTable(rows).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^HOST\s+STATE\s+FOR\s+AGE\s+CPU%\s+MEM%\s+DISK%\s+TEMP°C\s+PI\s+OUTBOX\s+PROBLEMS$/);
    expect(lines[1]).toMatch(/^pi-a\s+online\s+>5s\s+4s\s+24\.5\s+25\.0\s+93\s+83\.5\s+UV,THR\s+-\s+under-voltage, throttled, hot, disk full$/);
    expect(lines[2]).toMatch(/^pi-b\s+online\s+>5s\s+3s\s+90\.0\s+-\s+-\s+-\s+-\s+12↑\s+backlog growing$/);
  });

  it('fits the window: no line wider than it, hosts that do not fit are counted, problems coloured', () => {
    const screen = renderScreen({ rows, sort: 'cpu', reverse: false, source: 'ingestor@mqtt://x', connection: 'connected', width: 40, height: 4, color: false });
    expect(screen).toHaveLength(4);
    for (const l of screen) expect([...l].length).toBeLessThanOrEqual(40);
    expect(screen[2]).toContain('2 more hosts');
    const tall = renderScreen({ rows, sort: 'host', reverse: false, source: 's', connection: 'connected', width: 200, height: 10, color: true });
    expect(tall).toHaveLength(10);
    expect(tall[2]!.startsWith('\x1b[31mpi-a')).toBe(true);
    expect(tall[3]!.startsWith('\x1b[33mpi-b')).toBe(true);
    expect(tall[9]).toContain('q quit');
  });
});
