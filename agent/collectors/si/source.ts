// The systeminformation package behind an interface (STYLE: TG's psutil `PS`), so the mapping is
// tested on results recorded on real machines (test/fixtures/si/) and the package itself is
// loaded only when agent.source selects it: `import('systeminformation')` runs in loadSi() and
// nowhere else, and the Pi bundle leaves the package out (scripts/build-agent.mjs, EXTERNAL).
//
// What each call costs, read in node_modules/systeminformation/lib (5.33):
//   time(), currentLoad(), mem()   os module and /proc reads; currentLoad() runs
//                                  `cat /proc/stat` with execSync on Linux (blocks the loop briefly)
//   fsSize()                       one `df` (Linux, macOS) or PowerShell (Windows) per call
//   networkStats(list)             one `cat` (Linux) / `ifconfig` + `netstat` (macOS) per interface
//   processes()                    `ps` (+ /proc/<pid>/stat reads on Linux), PowerShell on Windows
//   networkInterfaces()            execSync per interface on Linux, ifconfig on macOS, PowerShell on Windows
//   users()                        `who` + `w`, PowerShell on Windows
//   osInfo(), cpu()                lscpu / sw_vers / PowerShell: read once, they do not change
//   cpuTemperature()               execSync of `cat` over thermal zones and hwmon on Linux; on
//                                  macOS an optional native module (not installed: no value)
// The last four groups are what `every()` below limits to agent.systeminformation.slowIntervalMs.
import type { Systeminformation as Si } from 'systeminformation';
import { ConfigError } from '../../../common/errors.js';

/** The systeminformation calls the source uses (the signatures of systeminformation 5). */
export interface SiSource {
  /** process.platform of the machine the results are from. */
  readonly platform: NodeJS.Platform;
  time(): Si.TimeData;
  osInfo(): Promise<Si.OsData>;
  cpu(): Promise<Si.CpuData>;
  currentLoad(): Promise<Si.CurrentLoadData>;
  mem(): Promise<Si.MemData>;
  fsSize(): Promise<Si.FsSizeData[]>;
  processes(): Promise<Si.ProcessesData>;
  networkInterfaces(): Promise<Si.NetworkInterfacesData[]>;
  networkStats(ifaces: string): Promise<Si.NetworkStatsData[]>;
  users(): Promise<Si.UserData[]>;
  cpuTemperature(): Promise<Si.CpuTemperatureData>;
  /** os.loadavg(): systeminformation gives only a 1-minute figure per core. [0, 0, 0] on Windows. */
  loadavg(): number[];
}

/** Thrown when agent.source selects systeminformation and the package cannot be loaded. */
export class SiUnavailableError extends ConfigError {
  constructor(cause: unknown) {
    super(
      'agent.source is systeminformation (or auto off Linux) but the systeminformation package cannot be loaded: install the agent with npm (README "Other systems: macOS and Windows"); the Pi bundle does not carry it',
      { cause },
    );
  }
}

/** Loads systeminformation (dynamic import: only when this source is selected). */
export async function loadSi(): Promise<SiSource> {
  let si: typeof import('systeminformation');
  try {
    const mod = (await import('systeminformation')) as typeof import('systeminformation') & { default?: typeof import('systeminformation') };
    si = mod.default ?? mod;
  } catch (err) {
    throw new SiUnavailableError(err);
  }
  const os = await import('node:os');
  return {
    platform: process.platform,
    time: () => si.time(),
    osInfo: () => si.osInfo(),
    cpu: () => si.cpu(),
    currentLoad: () => si.currentLoad(),
    mem: () => si.mem(),
    fsSize: () => si.fsSize(),
    processes: () => si.processes(),
    // rescan=true: the list is read again at each call (every slowIntervalMs), so new interfaces show.
    networkInterfaces: async () => {
      const r = await si.networkInterfaces(true as never);
      return Array.isArray(r) ? r : [r];
    },
    networkStats: (ifaces) => si.networkStats(ifaces),
    users: () => si.users(),
    cpuTemperature: () => si.cpuTemperature(),
    loadavg: () => os.loadavg(),
  };
}

export interface Sampled<T> {
  get(): Promise<T>;
  /** When the value in hand was asked for (monotonic ms), undefined before the first call. */
  readonly takenAt: number | undefined;
}

/**
 * A slow call made at most once per `intervalMs`: callers that come sooner get the last result,
 * callers that come while it runs share the call. The age is counted from when the call started,
 * with a little slack, so a group that ticks every `intervalMs` gets a fresh result each time. A
 * failed call is not kept.
 */
export function every<T>(intervalMs: number, read: () => Promise<T>, now: () => number = () => performance.now()): Sampled<T> {
  const slack = Math.min(1000, intervalMs / 10);
  let last: { value: T; at: number } | undefined;
  let running: Promise<T> | undefined;
  return {
    get() {
      const t = now();
      if (last && t - last.at < intervalMs - slack) return Promise.resolve(last.value);
      if (running) return running;
      running = read()
        .then((value) => {
          last = { value, at: t };
          return value;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    get takenAt() {
      return last?.at;
    },
  };
}

/** A call whose result never changes (cpu model, OS release): made once; a failure is tried again next time. */
export function once<T>(read: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= read().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}
