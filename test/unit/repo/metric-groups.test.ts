// What a metric group needs besides its proto message (README "Adding a metric group"): each
// check names the file to touch when a new group lacks it. The dashboards' share of the recipe
// is checked in test/unit/grafana/dashboards.test.ts, the stored names in schema.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../../agent/collectors/index.js';
import { agentHealthEntry } from '../../../agent/runtime/health.js';
import { METRIC_NAMES, metricSpec } from '../../../common/schema.js';
import { readmeSection } from '../../../testkit/readme.js';
import { REPO } from '../../../testkit/repo.js';

const CASES = path.join(REPO, 'test/unit/ingestor/cases');
const casesTopics = readdirSync(CASES).map((c) => (JSON.parse(readFileSync(path.join(CASES, c, 'input.json'), 'utf8')) as { topic?: string }).topic ?? '');

describe.each(METRIC_NAMES)('metric group %s', (name) => {
  it('has a collector in agent/collectors/index.ts (agentHealth: the runtime)', () => {
    const entry = name === 'agentHealth' ? agentHealthEntry : (COLLECTORS as Record<string, unknown>)[name];
    expect(entry, `agent/collectors/${name} is not registered`).toBeDefined();
  });

  it('has its row in the README\'s "Metric groups" table', () => {
    const row = readmeSection('Metric groups').split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, `README "Metric groups" has no row for ${name}`).toBeDefined();
    expect(row).toContain(`| ${metricSpec(name).measurement} |`);
  });

  it('has an ingestor case (test/unit/ingestor/cases/<case>/input.json) that stores it', () => {
    expect(casesTopics.some((t) => t.endsWith(`/${name}`)), `no ingestor case publishes machmon/<host>/${name}`).toBe(true);
  });
});
