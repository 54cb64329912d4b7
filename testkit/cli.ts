// `machmon <args>` as users run it: the compiled dist/, as `npx machmon` does.
import { runProc, type RunResult } from './processes.js';
import { MACHMON, REPO } from './repo.js';

/** Runs `machmon <args>` to completion; one that does not finish within timeoutMs (20 s) fails. */
export async function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const r = await runProc(process.execPath, [MACHMON, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    input: opts.input,
    timeoutMs,
  });
  if (r.timedOut) throw new Error(`machmon ${args.join(' ')} did not finish within ${timeoutMs} ms\n${r.stderr}`);
  return r;
}
