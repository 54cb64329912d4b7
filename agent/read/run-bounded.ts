// Runs a program with a time limit, an output limit and an abort handle, and returns its
// output even when it exits non-zero (ping exits 1 when no reply came, with a summary).
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
}

export interface RunOptions {
  timeoutMs: number;
  maxBufferBytes?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Rejects when the program cannot start (ENOENT...), times out (ETIMEDOUT) or is aborted (ABORT_ERR). */
export function runBounded(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: opts.maxBufferBytes ?? 1024 * 1024, signal: opts.signal, env: opts.env ?? process.env, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, code: 0 });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: string | number | null };
        if (e.name === 'AbortError') return reject(Object.assign(new Error(`${file} aborted`), { code: 'ABORT_ERR' }));
        if (e.killed || (e.signal === 'SIGKILL' && e.code === null)) return reject(Object.assign(new Error(`${file} did not finish within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
        if (typeof e.code === 'number') return resolve({ stdout, stderr, code: e.code });
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(Object.assign(new Error(`${file} wrote more than ${opts.maxBufferBytes ?? 1024 * 1024} bytes`), { code: e.code }));
        if (e.signal) return resolve({ stdout, stderr, code: null });
        reject(err);
      },
    );
  });
}
