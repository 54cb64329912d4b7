// The npm package a Mac or a Windows PC installs (README "Other systems: macOS and Windows":
// `npm pack` here, `npm i -g machmon-<version>.tgz` there): what `npm pack` puts in it, from the
// compiled dist/ (`npx tsc -p tsconfig.json` first). No install is run: it would fetch the
// dependencies from the registry.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../testkit/repo.js';

describe('npm pack', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
  const files = r.status === 0 ? (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path) : [];

  it('holds the command, the compiled agent with both sources, and the service recipes', () => {
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['bin/machmon.js', 'dist/cli/main.js', 'dist/agent/runtime/agent.js', 'dist/agent/collectors/si/index.js', 'dist/agent/collectors/si/source.js', 'deploy/macos/io.machmon.agent.plist', 'deploy/windows/machmon-agent.xml', 'README.md', 'package.json']) expect(files, f).toContain(f);
  });

  it('leaves out tests, benchmarks and the sources (dist/ is what runs)', () => {
    expect(files.filter((f) => /^dist\/(test|bench|testkit)\/|\.ts$|^test\//.test(f))).toEqual([]);
  });

  it('names systeminformation as a dependency, so `npm i -g` brings it', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['systeminformation']).toMatch(/^\^5\./);
  });
});
