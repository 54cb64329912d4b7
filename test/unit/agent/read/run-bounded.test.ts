import { describe, expect, it } from 'vitest';
import { runBounded } from '../../../../agent/read/run-bounded.js';

describe('bounded child processes (ping and journalctl run through this)', () => {
  it('returns output and exit code of a program that fails', async () => {
    const r = await runBounded('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 });
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });
  it('kills a program that runs past its timeout', async () => {
    const t0 = Date.now();
    await expect(runBounded('sleep', ['30'], { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it('kills a program when the collector is closed (abort)', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await expect(runBounded('sleep', ['30'], { timeoutMs: 60_000, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it('reports a missing program', async () => {
    await expect(runBounded('/nonexistent/ping', [], { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
