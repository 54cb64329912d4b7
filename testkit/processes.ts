// Programs the tests and benchmarks run as separate processes: to completion (runProc), or
// long-running (Program: started, signalled, restarted, its output kept for failure messages).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { MACHMON, REPO } from './repo.js';

/** The last `max` characters a child wrote on stdout and stderr. */
export function captureOutput(child: ChildProcess, max = 20_000): () => string {
  let out = '';
  const add = (d: Buffer) => {
    out = (out + d.toString()).slice(-max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

/** Resolves with the exit code once the child exited; rejects after timeoutMs. */
export function exited(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Killed (SIGKILL) because it ran longer than timeoutMs. */
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  input?: string;
}

/** Runs a program to completion. A run past timeoutMs is killed, which is not an error (mosquitto_sub -W ends the same way): see timedOut. */
export function runProc(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface ProgramOptions {
  /** Label in messages. */
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Output lines containing this are kept in `kept`, all runs. */
  readonly keep?: string;
  /** Every line of every run is appended here. */
  readonly logFile?: string;
}

/** Lines of output remembered for failure messages. */
const TAIL_LINES = 200;

/** A long-running program that can be started, signalled and started again; its output lines are kept across runs. */
export class Program {
  private child: ChildProcess | undefined;
  private partial = '';
  private file: fs.WriteStream | undefined;
  /** Lines containing `keep`, all runs. */
  readonly kept: string[] = [];
  /** The last lines of every kind, all runs. */
  readonly tail: string[] = [];
  /** Starts so far. */
  runs = 0;

  constructor(readonly opts: ProgramOptions) {}

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How the last run ended (undefined while running or never started). */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.child && !this.running ? { code: this.child.exitCode, signal: this.child.signalCode } : undefined;
  }

  /** The last lines, for an error message. */
  output(lines = 30): string {
    return this.tail.slice(-lines).join('\n');
  }

  /** Spawns it; with `ready`, resolves once an output line contains it (rejects when it exits first or after timeoutMs). */
  async start(ready?: string, timeoutMs = 20_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.runs++;
    const child = spawn(this.opts.cmd, this.opts.args, {
      cwd: this.opts.cwd ?? REPO,
      env: this.opts.env ?? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.partial = '';
    const file = this.opts.logFile ? fs.createWriteStream(this.opts.logFile, { flags: 'a' }) : undefined;
    child.once('close', () => file?.end());
    this.file = file;
    let onLine: (line: string) => void = () => undefined;
    child.stdout!.on('data', (d: Buffer) => this.take(d.toString(), onLine));
    child.stderr!.on('data', (d: Buffer) => this.take(d.toString(), onLine));
    if (ready === undefined) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${ready}" within ${timeoutMs} ms\n${this.output()}`)), timeoutMs);
      onLine = (line) => {
        if (!line.includes(ready)) return;
        clearTimeout(timer);
        resolve();
      };
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before "${ready}"\n${this.output()}`));
      });
    });
  }

  private take(text: string, onLine: (line: string) => void): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line) continue;
      this.file?.write(`${line}\n`);
      if (this.opts.keep && line.includes(this.opts.keep)) this.kept.push(line);
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.splice(0, this.tail.length - TAIL_LINES);
      onLine(line);
    }
  }

  /** Sends a signal; for SIGKILL and SIGTERM waits until the process is gone (SIGTERM: at most timeoutMs, then SIGKILL). */
  async signal(sig: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT', timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (sig === 'SIGSTOP' || sig === 'SIGCONT') {
      child.kill(sig);
      return;
    }
    // 'close': the process is gone and its output is read to the end.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    if (sig === 'SIGTERM') child.kill('SIGCONT');
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await closed;
    clearTimeout(timer);
    // A line cut by SIGKILL is not a line.
    this.partial = '';
  }

  /** SIGTERM, and SIGKILL after timeoutMs. */
  stop(timeoutMs = 10_000): Promise<void> {
    return this.signal('SIGTERM', timeoutMs);
  }

  /** Kills without waiting (afterAll). */
  killNow(): void {
    if (!this.running) return;
    this.child!.kill('SIGCONT');
    this.child!.kill('SIGKILL');
  }
}

/** `machmon <command> --config <file>` as users run it (the compiled dist/), on this Node with `nodeFlags`. */
export function machmonProgram(opts: Omit<ProgramOptions, 'cmd' | 'args'> & { command: string; configFile: string; nodeFlags?: readonly string[] }): Program {
  const { command, configFile, nodeFlags = [], ...rest } = opts;
  return new Program({ ...rest, cmd: process.execPath, args: [...nodeFlags, MACHMON, command, '--config', configFile] });
}
