// The systeminformation source (agent/collectors/si/) on systeminformation results recorded on
// this machine (test/fixtures/si/linux-x86.json, by test/fixtures/record-si.mjs) and, for macOS
// and Windows, on result shapes from systeminformation's documentation and source
// (darwin-docs.json, win32-source.json; each call's origin is in the file's "sources" and in
// test/fixtures/SOURCES.md): the platform dispatch of agent.source, and the fields each OS gets
// (README "Other systems: macOS and Windows", the table of fields).
import { describe, expect, it } from 'vitest';
import { siCollectors } from '../../../../agent/collectors/si/index.js';
import { mapCpu, mapFilesystems, mapMem, mapProcessTop, mapTemperature, systemFromOsInfo } from '../../../../agent/collectors/si/map.js';
import { every } from '../../../../agent/collectors/si/source.js';
import type { Reading } from '../../../../agent/collectors/types.js';
import { loadSource, resolveSource } from '../../../../agent/runtime/source.js';
import { COLLECTORS } from '../../../../agent/collectors/index.js';
import type { Systeminformation as Si } from 'systeminformation';
import { agentConfig } from '../../../../testkit/configs.js';
import { collectorContext } from '../../../../testkit/fixtures.js';
import { captureLog } from '../../../../testkit/log.js';
import { recordedSi, siRecording, type SiRecording } from '../../../../testkit/si.js';
import { pathsFromConfig } from '../../../../agent/read/paths.js';
import { sleep } from '../../../../testkit/wait.js';

/** The fields each group sets per OS (README "Other systems: macOS and Windows"). */
const FIELDS: Record<SiRecording, Record<string, string[]>> = {
  'linux-x86': {
    cpusNumber: ['cpusOnline', 'cpusTotal'],
    cpu: ['idlePercent', 'nicePercent', 'stealPercent', 'systemPercent', 'userPercent'],
    mem: ['buffersMemKb', 'cachedMemKb', 'freeMemKb', 'freeRamKb', 'swapFreeKb', 'swapTotalKb', 'swapUsedKb', 'totalMemKb', 'totalRamKb', 'usedMemKb', 'usedRamKb'],
    disk: ['freeKb', 'name', 'totalKb', 'usagePercent', 'usedKb'],
    partitions: ['device', 'freeKb', 'fsType', 'mountPoint', 'readOnly', 'totalKb', 'usagePercent', 'usedKb'],
    processesNumber: ['active', 'total'],
    process: ['command', 'cpuPercent', 'memPercent', 'nice', 'pid', 'start', 'state', 'user'],
    networkMetrics: ['broadcast', 'ipv4', 'ipv6', 'mac', 'mtu', 'name', 'netmask', 'rxErrors', 'txErrors'],
    systemAdditionalInfo: ['bootTime', 'load1', 'load15', 'load5', 'usersLoggedIn'],
    temperature: ['degreesCelsius', 'sensor', 'source'],
  },
  'darwin-docs': {
    cpusNumber: ['cpusOnline', 'cpusTotal'],
    cpu: ['idlePercent', 'nicePercent', 'systemPercent', 'userPercent'],
    mem: ['cachedMemKb', 'freeMemKb', 'freeRamKb', 'swapFreeKb', 'swapTotalKb', 'swapUsedKb', 'totalMemKb', 'totalRamKb', 'usedMemKb', 'usedRamKb'],
    disk: ['freeKb', 'name', 'totalKb', 'usagePercent', 'usedKb'],
    partitions: ['device', 'freeKb', 'fsType', 'mountPoint', 'readOnly', 'totalKb', 'usagePercent', 'usedKb'],
    processesNumber: ['active', 'total'],
    process: ['command', 'cpuPercent', 'memPercent', 'nice', 'pid', 'start', 'state', 'user'],
    networkMetrics: ['broadcast', 'ipv4', 'ipv6', 'linkSpeedMbps', 'mac', 'mtu', 'name', 'netmask', 'rxErrors', 'txErrors'],
    systemAdditionalInfo: ['bootTime', 'load1', 'load15', 'load5', 'usersLoggedIn'],
    temperature: ['degreesCelsius', 'sensor', 'source'],
  },
  'win32-source': {
    cpusNumber: ['cpusOnline', 'cpusTotal'],
    cpu: ['idlePercent', 'systemPercent', 'userPercent'],
    mem: ['freeMemKb', 'freeRamKb', 'swapFreeKb', 'swapTotalKb', 'swapUsedKb', 'totalMemKb', 'totalRamKb', 'usedMemKb', 'usedRamKb'],
    disk: ['freeKb', 'name', 'totalKb', 'usagePercent', 'usedKb'],
    partitions: ['device', 'freeKb', 'fsType', 'mountPoint', 'readOnly', 'totalKb', 'usagePercent', 'usedKb'],
    processesNumber: ['total'],
    process: ['command', 'cpuPercent', 'memPercent', 'pid', 'start'],
    networkMetrics: ['broadcast', 'ipv4', 'ipv6', 'linkSpeedMbps', 'mac', 'name', 'netmask', 'rxErrors', 'txErrors'],
    systemAdditionalInfo: ['bootTime', 'usersLoggedIn'],
    temperature: ['degreesCelsius', 'sensor', 'source'],
  },
};

async function readAll(rec: SiRecording) {
  const si = recordedSi(rec);
  const table = siCollectors({ si, slowIntervalMs: 60_000, now: () => 1_700_000_000_000 });
  const captured = collectorContext({});
  const out: Record<string, { fields: string[]; reading: Record<string, unknown> }> = {};
  for (const [group, entry] of Object.entries(table)) {
    if (group === 'latency' || group === 'logs') continue;
    const c = entry!.create({ ...captured.ctx, log: captured.log.child({ collector: group }) });
    const reading = (await c.collect()) as Record<string, unknown>;
    const rows = (reading['rows'] as Record<string, unknown>[] | undefined) ?? [reading];
    out[group] = { fields: [...new Set(rows.flatMap((r) => Object.keys(r)))].sort(), reading };
  }
  return { out, si, lines: captured.lines };
}

describe('agent.source dispatch', () => {
  it('auto is procfs on Linux and systeminformation on macOS, Windows and the BSDs; explicit choices stand', () => {
    expect(resolveSource('auto', 'linux')).toBe('procfs');
    expect(resolveSource('auto', 'darwin')).toBe('systeminformation');
    expect(resolveSource('auto', 'win32')).toBe('systeminformation');
    expect(resolveSource('auto', 'freebsd')).toBe('systeminformation');
    expect(resolveSource('procfs', 'darwin')).toBe('procfs');
    expect(resolveSource('systeminformation', 'linux')).toBe('systeminformation');
  });

  it('the default is auto, and an unknown source is refused naming the key', () => {
    expect(agentConfig().source).toBe('auto');
    expect(() => agentConfig({ source: 'wmi' })).toThrow(/agent\.source/);
  });

  it.each([
    ['linux', 'linux-x86', 'procfs'],
    ['darwin', 'darwin-docs', 'systeminformation'],
    ['win32', 'win32-source', 'systeminformation'],
  ] as const)('auto on %s loads the %s table of the %s source', async (platform, rec, want) => {
    const config = agentConfig({ source: 'auto', system: undefined });
    const { log, lines } = captureLog('info');
    const loaded = await loadSource(config, pathsFromConfig(config), log, { platform, si: recordedSi(rec) });
    expect(loaded.name).toBe(want);
    if (want === 'procfs') expect(loaded.table).toBe(COLLECTORS);
    else {
      expect(Object.keys(loaded.table).sort()).toEqual(['cpu', 'cpusNumber', 'disk', 'latency', 'logs', 'mem', 'networkMetrics', 'partitions', 'process', 'processesNumber', 'systemAdditionalInfo', 'temperature']);
      expect(lines.find((l) => l.msg.startsWith('collectors read systeminformation'))?.['notProvided']).toMatchObject({ ioRatio: expect.any(String), piHealth: expect.any(String), fan: expect.any(String), cpuFreq: expect.any(String) });
    }
  });

  it('names the system after the OS and its release off Linux, after os-release on Linux', async () => {
    const config = agentConfig({});
    const paths = pathsFromConfig(config);
    const name = async (rec: SiRecording) => (await loadSource(agentConfig({ source: 'systeminformation' }), paths, captureLog().log, { si: recordedSi(rec) })).system;
    expect(await name('darwin-docs')).toBe('macOS 10.15.3');
    expect(await name('win32-source')).toBe('Windows 11 Pro 10.0.22631');
    expect(systemFromOsInfo({ platform: 'freebsd', distro: 'FreeBSD', release: '14.0-RELEASE' }, 'freebsd')).toBe('FreeBSD 14.0-RELEASE');
    // Linux: the same name as the procfs source gives this machine.
    const linux = await loadSource(agentConfig({ source: 'systeminformation' }), paths, captureLog().log, { si: recordedSi('linux-x86') });
    const procfs = await loadSource(agentConfig({ source: 'procfs' }), paths, captureLog().log, { platform: 'linux' });
    expect(linux.system).toBe(procfs.system);
    // agent.system wins.
    expect((await loadSource(agentConfig({ source: 'systeminformation', system: 'Lab Mac' }), paths, captureLog().log, { si: recordedSi('darwin-docs') })).system).toBe('Lab Mac');
  });
});

describe('the fields each OS gets', () => {
  it.each(['linux-x86', 'darwin-docs', 'win32-source'] as const)('%s', async (rec) => {
    const { out, lines } = await readAll(rec);
    const fields = Object.fromEntries(Object.entries(out).map(([g, v]) => [g, v.fields]));
    expect(fields).toEqual(FIELDS[rec]);
    // Every field left unset is said once, with its reason, never at warn.
    const unsetLines = lines.filter((l) => l.msg === 'field not given by the systeminformation source: left unset');
    expect(unsetLines.length).toBeGreaterThan(0);
    expect(new Set(unsetLines.map((l) => `${String(l['collector'])}.${String(l['field'])}`)).size).toBe(unsetLines.length);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });
});

describe('the mapping', () => {
  it('Linux memory: the figures of the procfs source (procps 3.3 used, cache = Cached + SReclaimable)', () => {
    const m = siRecording('linux-x86')['mem'] as Si.MemData;
    const { reading } = mapMem(m, 'linux');
    const kb = (b: number) => Math.round(b / 1024);
    expect(reading.totalMemKb).toBe(kb(m.total));
    expect(reading.cachedMemKb).toBe(kb(m.cached + m.reclaimable));
    expect(reading.usedMemKb).toBe(kb(m.total - m.free - m.buffers - m.cached - m.reclaimable));
    expect(reading.totalRamKb).toBe(reading.totalMemKb! + reading.swapTotalKb!);
  });

  it('macOS memory: used is what vm_stat calls active, cache the rest; no buffers (systeminformation leaves a placeholder 0)', () => {
    const m = siRecording('darwin-docs')['mem'] as Si.MemData;
    const r = mapMem(m, 'darwin');
    expect(r.reading.usedMemKb).toBe(m.active / 1024);
    expect(r.reading.cachedMemKb).toBe(m.buffcache / 1024);
    expect(r.reading.buffersMemKb).toBeUndefined();
    expect(Object.keys(r.unset)).toContain('buffersMemKb');
  });

  it('CPU: percentages of the ticks os.cpus() counts, interrupts inside system, sum 100', () => {
    const load = siRecording('linux-x86')['currentLoad'] as Si.CurrentLoadData;
    const r = mapCpu(load, 'linux')!.reading;
    const sum = r.userPercent! + r.nicePercent! + r.systemPercent! + r.stealPercent! + r.idlePercent!;
    expect(sum).toBeCloseTo(100, 6);
    const w = mapCpu(siRecording('win32-source')['currentLoad'] as Si.CurrentLoadData, 'win32')!.reading;
    // 640 user, 320 system + 40 irq, 7000 idle of 8000 ticks.
    expect(w).toEqual({ userPercent: 8, systemPercent: 4.5, idlePercent: 87.5 });
    expect(mapCpu({ ...load, rawCurrentLoadUser: 0, rawCurrentLoadNice: 0, rawCurrentLoadSystem: 0, rawCurrentLoadIrq: 0, rawCurrentLoadSteal: 0, rawCurrentLoadIdle: 0 }, 'linux')).toBeUndefined();
  });

  it('filesystems: the procfs source\'s choice on Unix (device paths, no network fs or images, a device once), every drive on Windows', () => {
    const fs = (over: Partial<Si.FsSizeData>): Si.FsSizeData => ({ fs: '/dev/sda1', type: 'ext4', size: 1024 * 1000, used: 1024 * 400, available: 1024 * 500, use: 44.4, mount: '/', rw: true, ...over });
    const rows = mapFilesystems(
      [fs({}), fs({ mount: '/srv/bind' }), fs({ fs: 'overlay', type: 'overlay', mount: '/var/lib/docker/x' }), fs({ fs: 'srv:/export', type: 'nfs4', mount: '/mnt/nfs' }), fs({ fs: '/dev/loop0', type: 'squashfs', mount: '/snap/x' }), fs({ fs: '/dev/sdb1', type: 'vfat', mount: '/boot/firmware', rw: false })],
      'linux',
    );
    expect(rows.map((r) => [r.device, r.mountPoint, r.readOnly])).toEqual([['/dev/sda1', '/', false], ['/dev/sdb1', '/boot/firmware', true]]);
    // df's 1K blocks and Use% = used / (used + available), rounded up.
    expect(rows[0]).toMatchObject({ totalKb: 1000, usedKb: 400, freeKb: 500, usagePercent: 45 });
    const win = mapFilesystems(siRecording('win32-source')['fsSize'] as Si.FsSizeData[], 'win32');
    expect(win.map((r) => [r.mountPoint, r.fsType, r.readOnly])).toEqual([['C:', 'NTFS', false], ['D:', 'FAT32', undefined]]);
  });

  it('processes: CPU per core as ps prints it (Linux and Windows scaled by the CPU count, macOS as is), ranked, state as ps\'s letter', () => {
    const darwin = siRecording('darwin-docs')['processes'] as Si.ProcessesData;
    const d = mapProcessTop(darwin, 2, 16, 'darwin').reading.rows!;
    expect(d.map((r) => [r.pid, r.cpuPercent, r.state, r.user, r.nice])).toEqual([[402, 112.3, 'R', '_windowserver', 0], [1, 0.1, 'S', 'root', 0]]);
    expect(d[0]!.command).toBe('/System/Library/PrivateFrameworks/SkyLight.framework/Resources/WindowServer -daemon');
    expect(d[0]!.start).toBe('2020-02-01 09:00:10');
    const linux = siRecording('linux-x86')['processes'] as Si.ProcessesData;
    const l = mapProcessTop(linux, 3, 2, 'linux').reading.rows!;
    expect(l[0]!.cpuPercent).toBeCloseTo(linux.list.reduce((a, p) => Math.max(a, p.cpu), 0) * 2, 9);
    const win = mapProcessTop(siRecording('win32-source')['processes'] as Si.ProcessesData, 3, 8, 'win32');
    expect(win.reading.rows!.map((r) => [r.pid, r.cpuPercent, r.state, r.user, r.nice])).toEqual([[0, 644, undefined, undefined, undefined], [5120, 50, undefined, undefined, undefined], [4, 9.6, undefined, undefined, undefined]]);
    expect(Object.keys(win.unset).sort()).toEqual(['cpuTime', 'group', 'nice', 'state', 'user']);
  });

  it('processesNumber: no running count on Windows, where systeminformation cannot tell process states', async () => {
    const { out } = await readAll('win32-source');
    expect(out['processesNumber']!.reading).toEqual({ total: 3 });
    const { out: mac } = await readAll('darwin-docs');
    expect(mac['processesNumber']!.reading).toEqual({ total: 3, active: 1 });
  });

  it('systemAdditionalInfo: boot time from uptime, users from who, no load average on Windows', async () => {
    const { out } = await readAll('darwin-docs');
    const r = out['systemAdditionalInfo']!.reading as Reading<'systemAdditionalInfo'>;
    expect(r.usersLoggedIn).toBe(2);
    expect([r.load1, r.load5, r.load15]).toEqual([1.52, 1.71, 1.8]);
    const when = new Date(1_700_000_000_000 - 86_400_000);
    expect(r.bootTime).toBe(`${when.getFullYear()}-${String(when.getMonth() + 1).padStart(2, '0')}-${String(when.getDate()).padStart(2, '0')} ${when.toTimeString().slice(0, 8)}`);
    const { out: win } = await readAll('win32-source');
    expect(win['systemAdditionalInfo']!.reading).not.toHaveProperty('load1');
  });
});

describe('temperature', () => {
  it('the CPU figure and each core, tagged source systeminformation; systeminformation\'s -1 and null are no value', () => {
    // The shape of docs/cpu.html's cpuTemperature() example (sebhildebrandt/systeminformation).
    expect(mapTemperature({ main: 34, cores: [34, 35], max: 37, socket: [16.8], chipset: 49 })).toEqual([
      { sensor: 'cpu', source: 'systeminformation', degreesCelsius: 34 },
      { sensor: 'core0', source: 'systeminformation', degreesCelsius: 34 },
      { sensor: 'core1', source: 'systeminformation', degreesCelsius: 35 },
    ]);
    expect(mapTemperature({ main: -1, cores: [], max: -1 })).toEqual([]);
    expect(mapTemperature(siRecording('darwin-docs')['cpuTemperature'] as Si.CpuTemperatureData)).toEqual([]);
  });

  it('without a sensor: the mock when it is among temperature.sources, else nothing', async () => {
    const table = siCollectors({ si: recordedSi('darwin-docs'), slowIntervalMs: 1000 });
    const withMock = collectorContext({});
    const r = (await table.temperature!.create(withMock.ctx).collect()) as Reading<'temperature'>;
    expect(r.rows).toEqual([{ sensor: 'mock', source: 'mock', degreesCelsius: expect.any(Number) }]);
    expect(withMock.lines.some((l) => String(l.msg).includes('optional native sensor module'))).toBe(true);
    const noMock = collectorContext({ temperature: { sources: ['thermal'] } });
    await expect(table.temperature!.create(noMock.ctx).collect()).rejects.toThrow(/no value/);
  });
});

describe('slow calls', () => {
  it('are made at most once per interval, shared while running, fresh for a group ticking at that interval', async () => {
    let t = 0;
    let calls = 0;
    const s = every(30_000, async () => ++calls, () => t);
    expect(await Promise.all([s.get(), s.get()])).toEqual([1, 1]);
    t = 10_000;
    expect(await s.get()).toBe(1);
    // A tick 30 s later (a few ms early on a busy timer) gets a new call.
    t = 29_990;
    expect(await s.get()).toBe(2);
  });

  it('processes(), networkInterfaces() and users() are called once for several cycles; cpu() and osInfo() once', async () => {
    const si = recordedSi('linux-x86');
    const table = siCollectors({ si, slowIntervalMs: 60_000 });
    const { ctx } = collectorContext({});
    const groups = ['cpusNumber', 'processesNumber', 'process', 'networkMetrics', 'systemAdditionalInfo', 'disk', 'partitions'] as const;
    const cs = groups.map((g) => table[g]!.create({ ...ctx, log: ctx.log }));
    for (let i = 0; i < 3; i++) {
      await Promise.all(cs.map((c) => c.collect()));
      // the next cycle, a second later
      await sleep(510);
    }
    // disk and partitions share one fsSize() (one df) per cycle.
    expect({ processes: si.calls['processes'], networkInterfaces: si.calls['networkInterfaces'], users: si.calls['users'], cpu: si.calls['cpu'], networkStats: si.calls['networkStats'], fsSize: si.calls['fsSize'] }).toEqual({ processes: 1, networkInterfaces: 1, users: 1, cpu: 1, networkStats: 3, fsSize: 3 });
  });
});
