// Vitest global setup: one real influxd for the whole run (tests use their own database
// names), and the mosquitto clients that the debugging tests run as users do.
import { spawnSync } from 'node:child_process';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startInfluxd, type Influxd } from '../../testkit/influxd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
  }
}

const REQUIRED = [
  ['mosquitto_sub', 'mosquitto-clients'],
  ['mosquitto_pub', 'mosquitto-clients'],
  ['victoria-metrics', 'victoria-metrics'],
  ['openssl', 'openssl'],
  ['mosquitto', 'mosquitto'],
  ['redis-server', 'redis-server'],
];

let influxd: Influxd | undefined;

export async function setup(project: TestProject) {
  const missing = REQUIRED.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`]).status !== 0).map(([, pkg]) => pkg);
  if (missing.length) {
    throw new Error(`tests need ${[...new Set(missing)].join(', ')}: run \`npm test\` as root (it installs them) or \`sudo apt-get install -y ${[...new Set(missing)].join(' ')}\``);
  }
  influxd = await startInfluxd();
  project.provide('influxUrl', influxd.url);
}

export async function teardown() {
  await influxd?.destroy();
}
