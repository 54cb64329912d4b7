#!/usr/bin/env node
// Health check of the Machmon server (Docker HEALTHCHECK, the compose file's health checks and
// the systemd units' ExecStartPost): asks the service's own /readyz (README "Self-metrics"),
// which says whether it is ready and, if not, why.
//   node healthcheck.mjs [--alive] [--wait SECONDS] [broker|ingestor|up]
//   broker:   http://127.0.0.1:<MACHMON_BROKER_METRICS_PORT, 9883>/readyz   (listening)
//   ingestor: http://127.0.0.1:<MACHMON_INGESTOR_METRICS_PORT, 9886>/readyz (connected to the
//             broker, InfluxDB answering)
//   up:       both
// --alive asks /healthz instead (the process serves at all); --wait retries for up to SECONDS
// (systemd: the unit counts as started once the service answers). Without a role it is read
// from the command of PID 1 (the container's). The service needs <role>.metrics.enabled
// (MACHMON_<ROLE>_METRICS_ENABLED=true). Exit 0 healthy, 1 unhealthy (the reason on stderr).
// Node standard library only.
/* global fetch, AbortSignal */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const TIMEOUT_MS = 3000;
const DEFAULT_PORTS = { broker: 9883, ingestor: 9886 };

function roleOfPid1() {
  try {
    const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    return argv.find((a) => a === 'broker' || a === 'ingestor' || a === 'up');
  } catch {
    return undefined;
  }
}

/** The URL of a role's endpoint, from the same MACHMON_* variables the service reads. */
export function endpoint(role, env = process.env, path = '/readyz') {
  const key = role.toUpperCase();
  const port = env[`MACHMON_${key}_METRICS_PORT`] ?? DEFAULT_PORTS[role];
  const host = env[`MACHMON_${key}_METRICS_HOST`] ?? '127.0.0.1';
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${port}${path}`;
}

async function check(url) {
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`${url}: ${err.cause?.code ?? err.message} (is <role>.metrics.enabled set?)`);
  }
  const text = (await res.text()).trim();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text}`);
  return `${url}: ${text}`;
}

async function main(argv) {
  const args = [...argv];
  const alive = args.includes('--alive');
  const waitAt = args.indexOf('--wait');
  const waitSeconds = waitAt >= 0 ? Number(args[waitAt + 1]) : 0;
  const role = args.filter((a, i) => !a.startsWith('--') && (waitAt < 0 || i !== waitAt + 1))[0] ?? roleOfPid1();
  const roles = { broker: ['broker'], ingestor: ['ingestor'], up: ['broker', 'ingestor'] }[role];
  if (!roles || !Number.isFinite(waitSeconds)) {
    console.error(`healthcheck: unknown role ${role ?? '(none found in /proc/1/cmdline)'}; usage: healthcheck.mjs [--alive] [--wait SECONDS] broker|ingestor|up`);
    return 1;
  }
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      for (const r of roles) console.log(`healthy: ${await check(endpoint(r, process.env, alive ? '/healthz' : '/readyz'))}`);
      return 0;
    } catch (err) {
      if (Date.now() >= deadline) {
        console.error(`unhealthy: ${err.message}`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(await main(process.argv.slice(2)));
