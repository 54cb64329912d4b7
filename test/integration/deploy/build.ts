// Runs `scripts/build-agent.mjs` (what `npm run build:agent` runs) into a temp folder, once per test file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../../testkit/repo.js';
import { tempDir } from './tmp.js';

export interface AgentBuild {
  out: string;
  version: string;
  bundle: string;
  tarball: string;
  metafile: { inputs: Record<string, unknown>; outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }> };
}

let cached: AgentBuild | undefined;

export function buildAgent(): AgentBuild {
  if (cached) return cached;
  const out = tempDir('machmon-agent-build-');
  const r = spawnSync(process.execPath, [path.join(REPO, 'scripts/build-agent.mjs'), '--out', out], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`build-agent failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  cached = {
    out,
    version,
    bundle: path.join(out, 'machmon-agent.cjs'),
    tarball: path.join(out, `machmon-agent-${version}.tar.gz`),
    metafile: JSON.parse(readFileSync(path.join(out, 'machmon-agent.meta.json'), 'utf8')) as AgentBuild['metafile'],
  };
  return cached;
}
