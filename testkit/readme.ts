// Sections of README.md, for tests that keep the README true (it is the only copy of the docs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './repo.js';

/** The text of the "## title" section, up to the next "## " heading. */
export function readmeSection(title: string): string {
  const text = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}
