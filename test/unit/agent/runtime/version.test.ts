import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../../../../agent/runtime/version.js';
import { REPO } from '../../../../testkit/repo.js';

describe('agent version', () => {
  it('equals the version in package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});
