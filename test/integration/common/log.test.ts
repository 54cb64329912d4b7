// createLogger: JSON lines for services (pino-pretty's code never runs: it costs a Pi's agent
// megabytes), human-readable lines on a terminal. Run in a child Node on the compiled dist/,
// where which CommonJS modules were loaded can be seen in require.cache.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../testkit/repo.js';

const CHILD = `
import { createRequire } from 'node:module';
if (process.argv[1] === 'tty') Object.defineProperty(process.stdout, 'isTTY', { value: true });
const { createLogger } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/common/log.js')).href)});
const log = createLogger({ level: 'info', file: null });
log.info({ password: 'hunter2', host: 'pi-1' }, 'hello from the logger');
const loaded = Object.keys(createRequire(process.cwd() + '/').cache).filter((k) => k.includes('/node_modules/pino-pretty/'));
process.stderr.write('PRETTY_MODULES=' + loaded.length + '\\n');
`;

function run(mode: 'pipe' | 'tty') {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, mode], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, prettyModules: Number(/PRETTY_MODULES=(\d+)/.exec(r.stderr)?.[1]) };
}

describe('createLogger', () => {
  it('writes JSON lines to a pipe without loading pino-pretty, passwords redacted', () => {
    const { out, prettyModules } = run('pipe');
    const line = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: 'hello from the logger', host: 'pi-1', password: '[redacted]' });
    expect(prettyModules).toBe(0);
  });

  it('writes readable lines on a terminal through pino-pretty, passwords redacted', () => {
    const { out, prettyModules } = run('tty');
    expect(out).toContain('hello from the logger');
    expect(out).toContain('INFO');
    expect(out).not.toContain('hunter2');
    expect(() => JSON.parse(out.trim())).toThrow();
    expect(prettyModules).toBeGreaterThan(0);
  });
});
