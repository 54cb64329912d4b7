// The README is part of the product: its configuration reference and error-code table must
// follow the schema and the error catalog.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../cli/main.js';
import { envKeys } from '../../../common/config.js';
import { ERROR_CODES } from '../../../common/errors.js';
import { METRIC_NAMES } from '../../../common/schema.js';
import { readmeSection } from '../../../testkit/readme.js';
import { REPO } from '../../../testkit/repo.js';

const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');

function section(title: string): string {
  expect(readme, `README has a "## ${title}" section`).toContain(`
## ${title}
`);
  return readmeSection(title);
}

/** agent.metrics.cpu.intervalMs -> agent.metrics.<group>.intervalMs; process.top and logs.maxLines stay. */
const generic = (p: string) => p.replace(new RegExp(`^agent\\.metrics\\.(${METRIC_NAMES.join('|')})\\.(enabled|intervalMs)$`), 'agent.metrics.<group>.$2');

function leafPaths(obj: unknown, prefix: string[] = []): string[] {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) return Object.entries(obj).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix.join('.')];
}

describe('README', () => {
  const reference = section('Configuration reference');

  it('shows the two commands', () => {
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });

  it("the configuration example holds every key of the schema and nothing else", () => {
    const json = reference.match(/```json\n([\s\S]*?)```/)?.[1];
    expect(json).toBeDefined();
    const example = new Set(leafPaths(JSON.parse(json!)).map(generic));
    const schema = new Set(envKeys().map((k) => generic(k.path.join('.'))));
    // The example shows per-group settings on process and logs; the table names <group>.
    for (const p of ['agent.metrics.<group>.enabled', 'agent.metrics.<group>.intervalMs']) example.add(p);
    expect([...schema].filter((p) => !example.has(p)), 'keys missing from the README example').toEqual([]);
    expect([...example].filter((p) => !schema.has(p)), 'keys in the README example that the schema does not know').toEqual([]);
  });

  it('the reference table explains every key', () => {
    const table = reference.slice(reference.indexOf('| key |'));
    for (const p of new Set(envKeys().map((k) => generic(k.path.join('.'))))) {
      const last = p.split('.').pop()!;
      const parent = p.split('.').slice(0, -1).join('.');
      // A row names the key in full, or its parent in full followed by `.leaf` siblings.
      const named = table.includes(`\`${p}\``) || (table.includes(`\`${parent}.`) && table.includes(`.${last}\``)) || table.includes(`\`${parent}.${last}\``);
      expect(named, `${p} is explained in the reference table`).toBe(true);
    }
  });

  it('lists every command of `machmon --help`, and no other', () => {
    const block = section('The `machmon` command').match(/```\n([\s\S]*?)```/)?.[1] ?? '';
    const listed = [...block.matchAll(/^machmon ([\w-]+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.keys(COMMANDS));
  });

  it('documents every error code', () => {
    const codes = section('Error codes');
    for (const code of Object.keys(ERROR_CODES)) expect(codes, code).toContain(`\`${code}\``);
  });
});
