// Vitest global setup: one real influxd for the whole run (tests use their own database
// names), and the mosquitto clients that the debugging tests run as users do.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startInfluxd, type Influxd } from '../../testkit/influxd.js';
import { REPO } from '../../testkit/repo.js';

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
  }
}

/** What `npm test` installs as root (scripts/packages.json); influxd reports itself when it cannot start. */
const REQUIRED = (JSON.parse(readFileSync(path.join(REPO, 'scripts/packages.json'), 'utf8')) as { test: [string, string, string][] }).test.filter(([bin]) => bin !== 'influxd');

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
