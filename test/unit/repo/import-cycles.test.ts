// No module of the product imports itself through others, type-only imports included: a
// cycle means two modules that cannot be understood (or loaded) one without the other.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../testkit/repo.js';

const ROOTS = ['agent', 'broker', 'ingestor', 'common', 'cli', 'deploy', 'grafana', 'bench', 'testkit'];

function sources(dir: string): string[] {
  return readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Repository-relative files a module imports (static, dynamic and type-only), by its relative specifiers. */
function importsOf(file: string, known: Set<string>): string[] {
  const sf = ts.createSourceFile(file, readFileSync(path.join(REPO, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const specs: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) specs.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) specs.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => path.normalize(path.join(path.dirname(file), s)).replace(/\.js$/, '.ts'))
    .filter((f) => known.has(f));
}

/** Every cycle found by a depth-first walk, each as the chain of files that closes it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) walk(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) walk(f);
  return cycles;
}

describe('imports', () => {
  it('the cycle finder finds a cycle, also one closed by a type-only import', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
    const files = new Set(['ingestor/router.ts', 'ingestor/routed.ts']);
    expect(importsOf('ingestor/router.ts', files)).toContain('ingestor/routed.ts');
  });

  it('form no cycle anywhere in the product, its tools and its test kit', () => {
    const files = ROOTS.flatMap(sources);
    const known = new Set(files);
    const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
    expect(graph.size).toBeGreaterThan(100);
    expect(findCycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });
});
