// deploy/docker-compose.yml and deploy/Dockerfile, checked without a Docker engine: the YAML
// parses, images are pinned, mounted paths and COPY sources exist, every variable fits the
// config schema or Grafana's provisioning — and the broker and ingestor start from exactly
// the compose environment as plain processes, with the image's health check passing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { BROKER_METRICS_PORT } from '../../../broker/config.js';
import { envKeys } from '../../../common/config.js';
import { INGESTOR_METRICS_PORT } from '../../../ingestor/config.js';
import { REPO } from '../../../testkit/repo.js';
import { freePort, waitForPort } from '../../../testkit/ports.js';
import { simulateDockerBuild, type SimulatedImage } from './docker-sim.js';
import { removeTempDirs, tempDir } from './tmp.js';

afterAll(removeTempDirs);

const DEPLOY = path.join(REPO, 'deploy');
interface Service { ports?: string[]; image?: string; build?: { context: string; dockerfile: string }; command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition?: string }>; healthcheck?: { test: string[]; interval?: string; timeout?: string; start_period?: string; retries?: number } }
const compose = parse(readFileSync(path.join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const dockerfile = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l));
const PINNED = /^[a-z0-9./-]+:\d+(\.\d+)+[\w.-]*$/;

describe('docker-compose.yml (static)', () => {
  it('runs InfluxDB 1.8, Grafana, and broker and ingestor from the Dockerfile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['broker', 'grafana', 'influxdb', 'ingestor']);
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:1\.8\./);
    expect(compose.services.grafana!.image).toMatch(/^grafana\/grafana(-oss)?:/);
    for (const name of ['broker', 'ingestor']) {
      const s = compose.services[name]!;
      expect(s.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(s.command).toEqual([name]);
    }
    expect(Object.keys(compose.services.ingestor!.depends_on!)).toEqual(['broker', 'influxdb']);
  });

  it('checks the health of broker and ingestor on their own /readyz (README "Self-metrics"), with the endpoints on', () => {
    const defaults: Record<string, number> = { broker: BROKER_METRICS_PORT, ingestor: INGESTOR_METRICS_PORT };
    for (const name of ['broker', 'ingestor']) {
      const s = compose.services[name]!;
      const key = name.toUpperCase();
      expect(s.environment?.[`MACHMON_${key}_METRICS_ENABLED`], name).toBe('true');
      expect(Number(s.environment?.[`MACHMON_${key}_METRICS_PORT`]), name).toBe(defaults[name]);
      // The script in the image that asks http://127.0.0.1:<MACHMON_<ROLE>_METRICS_PORT>/readyz.
      expect(s.healthcheck?.test, name).toEqual(['CMD', 'node', '/app/deploy/docker/healthcheck.mjs', name]);
      for (const d of [s.healthcheck!.interval, s.healthcheck!.timeout, s.healthcheck!.start_period]) expect(d, name).toMatch(/^\d+s$/);
    }
    // The ingestor starts once the broker is ready, not merely started.
    expect(compose.services.ingestor!.depends_on).toEqual({ broker: { condition: 'service_healthy' }, influxdb: { condition: 'service_healthy' } });
    // Metrics stay inside the containers unless asked for: no port of theirs is published.
    for (const name of ['broker', 'ingestor']) expect(compose.services[name]!.ports ?? [], name).not.toContainEqual(expect.stringMatching(/988[36]/));
  });

  it('pins every image to a version; the machmon image is tagged with the package version', () => {
    for (const [name, s] of Object.entries(compose.services)) expect(s.image, name).toMatch(PINNED);
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(compose.services.broker!.image).toBe(`machmon/server:${version}`);
    expect(compose.services.ingestor!.image).toBe(`machmon/server:${version}`);
  });

  it('mounts only paths that exist, and declares every named volume', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/')) expect(existsSync(path.resolve(DEPLOY, source)), `${name}: ${source}`).toBe(true);
        else expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
    expect(existsSync(path.resolve(DEPLOY, compose.services.broker!.build!.context, compose.services.broker!.build!.dockerfile))).toBe(true);
  });

  it('gives the machmon services only MACHMON_* variables the config schema knows', () => {
    const known = new Set(envKeys().map((k) => k.variable));
    for (const name of ['broker', 'ingestor']) {
      const keys = Object.keys(compose.services[name]!.environment ?? {});
      expect(keys.filter((k) => !known.has(k)), name).toEqual([]);
    }
    const fromDockerfile = [...dockerfile.matchAll(/\b(MACHMON_[A-Z_]+)=/g)].map((m) => m[1]!);
    expect(fromDockerfile.length).toBeGreaterThan(0);
    expect(fromDockerfile.filter((k) => !known.has(k))).toEqual([]);
  });

  it("sets every variable Grafana's provisioning files use", () => {
    const dir = path.join(REPO, 'grafana/provisioning');
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /\.ya?ml$/.test(e.name));
    const used = new Set(files.flatMap((e) => [...readFileSync(path.join(e.parentPath, e.name), 'utf8').replace(/^\s*#.*$/gm, '').replaceAll('$$', '').matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((m) => m[1]!)));
    const env = compose.services.grafana!.environment ?? {};
    expect([...used].filter((v) => !(v in env))).toEqual([]);
  });

  it('documents every ${VAR} it reads in deploy/.env.example', () => {
    const text = readFileSync(path.join(DEPLOY, 'docker-compose.yml'), 'utf8');
    const vars = new Set([...text.matchAll(/\$\{([A-Z_]+)[:}?-]/g)].map((m) => m[1]!));
    const example = readFileSync(path.join(DEPLOY, '.env.example'), 'utf8');
    for (const v of vars) expect(example).toMatch(new RegExp(`^${v}=`, 'm'));
  });
});

describe('Dockerfile (static)', () => {
  it('builds FROM pinned images only', () => {
    const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    const stages: string[] = [];
    for (const line of instructions.filter((l) => l.startsWith('FROM '))) {
      const [, image, , alias] = line.split(/\s+/);
      const resolved = image!.replace(/\$\{(\w+)\}/g, (_, a: string) => args[a] ?? '');
      if (!stages.includes(resolved)) expect(resolved).toMatch(PINNED);
      if (alias) stages.push(alias);
    }
  });

  it('copies only sources that exist in the context and are not ignored', () => {
    const ignored = readFileSync(path.join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(5);
    for (const line of copies) {
      const parts = line.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(path.join(REPO, src)), `${line}: ${src}`).toBe(true);
        expect(ignored.includes(src.split('/')[0]!), `${src} is in Dockerfile.dockerignore`).toBe(false);
      }
    }
  });

  it('runs as a non-root user, has a health check and starts the machmon CLI', () => {
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toMatch(/^USER (?!root\b|0\b)\w+/);
    const health = instructions.find((l) => l.startsWith('HEALTHCHECK '));
    expect(health).toContain('/app/deploy/docker/healthcheck.mjs');
    expect(instructions).toContain('COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs');
    expect(instructions).toContain('ENTRYPOINT ["node", "/app/bin/machmon.js"]');
  });
});

describe('the compose services without Docker, from the image the Dockerfile builds', () => {
  const children: ChildProcess[] = [];
  let image: SimulatedImage;
  beforeAll(() => {
    image = simulateDockerBuild();
  }, 180_000);
  /** An absolute path inside the image. */
  const inImage = (p: string) => path.join(image.root, p);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** The service's environment as compose would give it, pointed at loopback ports and temp dirs. */
  function serviceEnv(name: string, vars: Record<string, string>, rewrite: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(image.env)) env[k] = Object.entries(rewrite).reduce((acc, [from, to]) => acc.replace(from, to), v);
    for (const [k, raw] of Object.entries(compose.services[name]!.environment ?? {})) {
      let v = raw.replace(/\$\{(\w+)(?::?[-?]([^}]*))?\}/g, (_, n: string, dflt?: string) => vars[n] ?? (raw.includes(':?') ? '' : dflt ?? ''));
      for (const [from, to] of Object.entries(rewrite)) v = v.replace(from, to);
      env[k] = v;
    }
    return env;
  }

  /** The container's process: ENTRYPOINT + the service's command, in the image's WORKDIR. */
  function start(service: string, env: Record<string, string>) {
    const [bin, ...entry] = image.entrypoint;
    expect(bin).toBe('node');
    const argv = [...entry.map((a) => (a.startsWith('/') ? inImage(a) : a)), ...compose.services[service]!.command!];
    const child = spawn(process.execPath, argv, { cwd: inImage(image.workdir), env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
    children.push(child);
    return { child, log: () => log };
  }

  /** The compose service's health check, as Docker runs it inside the container. */
  function health(role: string, env: Record<string, string>) {
    const [cmd, bin, script, ...args] = compose.services[role]!.healthcheck!.test;
    expect([cmd, bin]).toEqual(['CMD', 'node']);
    return spawnSync(process.execPath, [inImage(script!), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  }

  async function stop(child: ChildProcess) {
    if (child.exitCode !== null) return child.exitCode;
    const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    return done;
  }

  it('the image holds the CLI, the health check and a runnable build; it runs as a non-root user', () => {
    expect(existsSync(inImage('/app/dist/cli/main.js'))).toBe(true);
    expect(existsSync(inImage('/app/deploy/docker/healthcheck.mjs'))).toBe(true);
    expect(existsSync(inImage('/var/lib/machmon'))).toBe(true);
    expect(image.user).toBe('node');
    const help = spawnSync(process.execPath, [inImage('/app/bin/machmon.js'), '--help'], { cwd: inImage('/app'), encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('broker');
  });

  it('broker and ingestor start from the compose environment; the health check follows them', async () => {
    const data = tempDir('machmon-compose-');
    const port = await freePort();
    const influx = new URL(inject('influxUrl'));
    const vars = { MACHMON_PASSWORD: 'compose-test-password', MACHMON_READER_PASSWORD: 'compose-test-reader-password', MACHMON_ALLOWED_HOSTS: 'pi-*' };
    const rewrite = {
      'mqtt://broker:1883': `mqtt://127.0.0.1:${port}`,
      'http://influxdb:8086': influx.origin,
      '/var/lib/machmon': data,
    };
    const brokerEnv: Record<string, string> = { ...serviceEnv('broker', vars, rewrite), MACHMON_BROKER_PORT: String(port), MACHMON_BROKER_METRICS_PORT: String(await freePort()) };
    const ingestorEnv: Record<string, string> = { ...serviceEnv('ingestor', vars, rewrite), MACHMON_INGESTOR_INFLUX_DATABASE: `t_deploy_compose_${process.pid}`, MACHMON_INGESTOR_METRICS_PORT: String(await freePort()) };
    expect(brokerEnv.MACHMON_BROKER_SECRET_PASSWORD).toBe(vars.MACHMON_PASSWORD);
    expect(brokerEnv.MACHMON_BROKER_READER_PASSWORD).toBe(vars.MACHMON_READER_PASSWORD);
    expect(brokerEnv.MACHMON_BROKER_AUTH).toBe('fleetPassword');
    expect(ingestorEnv.MACHMON_INGESTOR_PASSWORD).toBe(vars.MACHMON_READER_PASSWORD);
    expect(ingestorEnv.MACHMON_INGESTOR_BROKER_URL).toBe(`mqtt://127.0.0.1:${port}`);

    expect(health('broker', brokerEnv).status).toBe(1); // nothing listens yet
    const broker = start('broker', brokerEnv);
    await waitForPort(port, '127.0.0.1', 20_000).catch((err: Error) => { throw new Error(`${err.message}\n${broker.log()}`); });
    const hb = health('broker', brokerEnv);
    expect(hb.stdout).toContain('healthy');
    expect(hb.status).toBe(0);

    const before = health('ingestor', ingestorEnv);
    expect(before.status).toBe(1);
    expect(before.stderr).toMatch(/^unhealthy: http:\/\/127\.0\.0\.1:\d+\/readyz: ECONNREFUSED/);

    const ingestor = start('ingestor', ingestorEnv);
    const deadline = Date.now() + 20_000;
    let hi = health('ingestor', ingestorEnv);
    while (hi.status !== 0 && Date.now() < deadline && ingestor.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 250));
      hi = health('ingestor', ingestorEnv);
    }
    expect(hi.status, `${hi.stderr}\n${ingestor.log()}`).toBe(0);

    expect(await stop(ingestor.child)).toBe(0);
    expect(await stop(broker.child)).toBe(0);
  }, 60_000);
});
