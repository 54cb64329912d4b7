// The broker alone in a child Node with --expose-gc (test/integration/broker/fixtures/
// broker-process.mjs, on the compiled dist/), so its exit shows and its heap can be measured
// after forced GC: "heap" answers {heap, connected, clients}, "stop" its refusal counters.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { REPO } from './repo.js';

const SCRIPT = path.join(REPO, 'test/integration/broker/fixtures/broker-process.mjs');

export interface BrokerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Its stderr so far, for failure messages. */
  stderr(): string;
  /** Resolves with the exit code once it is gone. */
  readonly exited: Promise<number | null>;
  /** The next JSON line it prints (the first one is {"port": N}). */
  next<T>(): Promise<T>;
  /** Sends a command line and returns its answer. */
  ask<T>(cmd: string): Promise<T>;
}

export function startBrokerProcess(dataDir: string, password: string): BrokerProcess {
  const child = spawn(process.execPath, ['--expose-gc', SCRIPT, dataDir, password], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const r = await lines.next();
    if (r.done) throw new Error(`broker process ended early: ${stderr}`);
    return JSON.parse(r.value as string) as T;
  };
  return {
    child,
    stderr: () => stderr,
    exited,
    next,
    ask: <T>(cmd: string) => {
      child.stdin.write(`${cmd}\n`);
      return next<T>();
    },
  };
}
