// The InfluxDB of `machmon up` (README "The two commands"): when the ingestor has no InfluxDB
// configured (ingestor.influx.url unset) and nothing answers at the default address, `up`
// runs Debian's influxd itself, on 127.0.0.1 only, with its own config file and data under
// influxd.dataDir and its output in influxd.logFile, and stops it when `up` stops. An
// InfluxDB that is configured or already answering is used as it is and never touched;
// something else answering on the port is reported and never written to.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../common/backoff.js';
import { MachmonError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';
import type { InfluxdConfig } from './influxd-config.js';

/** Where Debian's influxdb package puts the server. */
export const INFLUXD_PATHS = ['/usr/bin/influxd', '/usr/sbin/influxd'];
export const INSTALL_HINT = 'sudo apt-get install -y influxdb';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 8_000;

export class InfluxdError extends MachmonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INFLUXD_FAILED', message, options);
  }
}

/** What answers at an InfluxDB URL. */
export type InfluxProbe = { kind: 'none' } | { kind: 'influxdb'; version: string } | { kind: 'other'; detail: string };

/**
 * GET /ping: InfluxDB (1.x and 2.x) answers with an X-Influxdb-Version header. A refused
 * connection is `none`; any other answer, or none within timeoutMs, is `other`.
 */
export async function probeInflux(url: string, timeoutMs = 2_000): Promise<InfluxProbe> {
  let r: Response;
  try {
    r = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { kind: 'none' };
    if ((err as Error).name === 'TimeoutError') return { kind: 'other', detail: `it accepts connections but sent no HTTP answer within ${timeoutMs} ms` };
    return { kind: 'other', detail: `its answer is not HTTP (${cause?.code ?? (err as Error).message})` };
  }
  await r.body?.cancel();
  const version = r.headers.get('x-influxdb-version');
  if (version !== null) return { kind: 'influxdb', version };
  const server = r.headers.get('server');
  return { kind: 'other', detail: `GET /ping answered HTTP ${r.status}${server ? ` from "${server}"` : ''} without the X-Influxdb-Version header` };
}

export function findInfluxd(paths: readonly string[] = INFLUXD_PATHS): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** The influxd config file: everything under dataDir, HTTP on 127.0.0.1:port, the backup RPC on a free loopback port, no phoning home. */
export function influxdConf(dataDir: string, port: number): string {
  const dir = path.resolve(dataDir);
  return `# Written by machmon up (cli/influxd.ts) at every start; edits are overwritten.
reporting-disabled = true
bind-address = "127.0.0.1:0"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
`;
}

/**
 * The environment of our influxd: Go's collector at GOGC=200 (the heap may grow to three
 * times what is live before a collection, instead of twice), unless GOGC is set already.
 * Measured with the ingestor's bench payloads on the 2-core VM: about 15 % less influxd CPU
 * per point written (22 against 26 us, README "Scaling"), for a larger heap.
 */
export function influxdEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, GOGC: base['GOGC'] ?? '200' };
}

export interface OwnInfluxd extends Service {
  readonly url: string;
  /** The running influxd's process id (undefined between a crash and its restart). */
  pid(): number | undefined;
}

export interface InfluxPlan {
  influxd: InfluxdConfig;
  /** The URL the ingestor writes to. */
  url: string;
  /** ingestor.influx.url was set in the file or the environment. */
  urlConfigured: boolean;
  apiVersion: 1 | 2;
}

/**
 * Decides which InfluxDB `up` uses and starts its own when that is the one. Resolves with
 * how it was chosen, and the running influxd when it is its own (none installed: the
 * ingestor waits and says so). Throws InfluxdError when something other than InfluxDB
 * holds the port or influxd does not start.
 */
export interface InfluxChoice {
  /** own: started here; configured: ingestor.influx.url; running: found answering; missing: none, and influxd not installed. */
  how: 'own' | 'configured' | 'running' | 'missing';
  influxd?: OwnInfluxd;
}

export async function prepareInflux(plan: InfluxPlan, log: Logger, binaries: readonly string[] = INFLUXD_PATHS): Promise<InfluxChoice> {
  const ilog = log.child({ component: 'influxd' });
  if (plan.urlConfigured || plan.influxd.start === 'never' || plan.apiVersion !== 1) {
    ilog.info({ url: plan.url }, 'using the configured InfluxDB');
    return { how: 'configured' };
  }
  // Our own influxd, left running by an `up` that was killed, answers like a foreign one: stop it first.
  const dir = path.resolve(plan.influxd.dataDir);
  await stopLeftover(path.join(dir, 'influxd.pid'), path.join(dir, 'influxdb.conf'), ilog);
  const found = await probeInflux(plan.url);
  if (found.kind === 'influxdb') {
    ilog.info({ url: plan.url, version: found.version }, 'using the InfluxDB already running');
    return { how: 'running' };
  }
  if (found.kind === 'other') {
    throw new InfluxdError(
      `${plan.url} answers, but it is not InfluxDB: ${found.detail}. Nothing is written there. ` +
        `Stop that server, or run machmon's own InfluxDB on another port (influxd.port, MACHMON_INFLUXD_PORT), or set ingestor.influx.url to your InfluxDB.`,
    );
  }
  const bin = findInfluxd(binaries);
  if (!bin) {
    ilog.warn({ url: plan.url, install: INSTALL_HINT }, `no InfluxDB: install it (${INSTALL_HINT}) and start machmon up again, which then runs its own; readings wait in the agents' outboxes until then`);
    return { how: 'missing' };
  }
  return { how: 'own', influxd: await startOwnInfluxd(bin, plan.influxd, ilog) };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** An influxd left running on this config by an `up` that was killed (SIGKILL) is stopped before a new one starts. */
async function stopLeftover(pidFile: string, conf: string, log: Logger): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch { /* gone, or not Linux */ }
  if (!cmdline.includes(conf)) return;
  log.warn({ pid }, 'stopping the influxd a previous machmon up left running');
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startOwnInfluxd(bin: string, cfg: InfluxdConfig, log: Logger): Promise<OwnInfluxd> {
  const dir = path.resolve(cfg.dataDir);
  const logFile = path.resolve(cfg.logFile);
  const conf = path.join(dir, 'influxdb.conf');
  const pidFile = path.join(dir, 'influxd.pid');
  const url = `http://127.0.0.1:${cfg.port}`;
  mkdirSync(dir, { recursive: true });
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(conf, influxdConf(dir, cfg.port));

  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  // Whatever way this process ends, its influxd ends with it.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const spawnOnce = (): ChildProcess => {
    const out = openSync(logFile, 'a');
    // Its own process group: a Ctrl-C on the terminal reaches `up`, which stops influxd after the ingestor's last write.
    const c = spawn(bin, ['run', '-config', conf], { stdio: ['ignore', out, out], detached: true, env: influxdEnv() });
    closeSync(out);
    c.on('error', (err) => log.error({ err }, 'influxd could not be run'));
    if (c.pid) writeFileSync(pidFile, `${c.pid}\n`);
    return c;
  };

  const ready = async (c: ChildProcess) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new InfluxdError(`influxd exited (${c.exitCode ?? c.signalCode}) before it answered at ${url}; the end of ${logFile}:\n${tail(logFile)}`);
      }
      const p = await probeInflux(url, 1_000);
      if (p.kind === 'influxdb') return;
      await new Promise((r) => setTimeout(r, 200));
    }
    c.kill('SIGKILL');
    throw new InfluxdError(`influxd did not answer at ${url} within ${READY_TIMEOUT_MS / 1000} s; the end of ${logFile}:\n${tail(logFile)}`);
  };

  // A crash while `up` runs: logged with influxd's last lines, then started again with backoff (the ingestor keeps the readings meanwhile).
  const supervise = (c: ChildProcess) => {
    c.once('exit', (code, signal) => {
      if (stopping) return;
      child = undefined;
      restarts++;
      const delay = backoffDelay(restarts, 1_000, 30_000);
      log.error({ code, signal, restartInMs: delay, log: tail(logFile, 5) }, 'influxd exited; starting it again');
      restartTimer = setTimeout(() => {
        if (stopping) return;
        const next = spawnOnce();
        child = next;
        supervise(next);
        ready(next).then(() => log.info({ url, pid: next.pid }, 'influxd running again'), (err: unknown) => log.error({ err }, 'influxd restart failed'));
      }, delay);
    });
  };

  child = spawnOnce();
  try {
    await ready(child);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    rmSync(pidFile, { force: true });
    throw err;
  }
  log.info({ url, pid: child.pid, dataDir: dir, logFile }, 'started its own InfluxDB');
  supervise(child);

  return {
    url,
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await gone;
        clearTimeout(t);
      }
      process.removeListener('exit', killOnExit);
      rmSync(pidFile, { force: true });
      log.info('influxd stopped');
    },
  };
}
