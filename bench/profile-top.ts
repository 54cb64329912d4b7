// `npm run bench -- profile-top <file.cpuprofile> [n]`: self time per function (and per
// package) of a V8 CPU profile, e.g. one written under MACHMON_BENCH_PROFILE=<dir>.
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

export function profileTop(file: string, n = 25): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'node_modules/').replace(/.*\/dist\//, 'dist/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const group = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(where)?.[1] ?? (where.startsWith('dist/') ? where.split('/').slice(0, 2).join('/') : where === '' ? `(${functionName})` : 'node:internal');
    pkg.set(group, (pkg.get(group) ?? 0) + dt);
  });
  const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, v]) => `  ${pct(v)}  ${name}`);
  return [`${file}: ${(total / 1e6).toFixed(1)} s sampled`, 'by package:', ...top(pkg, 12), 'by function (self time):', ...top(self, n)];
}
