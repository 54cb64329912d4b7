// Real `machmon <command> --config <file>` processes (the compiled dist/, as users run it)
// that the fault suite kills, stops, continues and restarts. Each keeps its JSON log lines
// across restarts (only the ones a test asks to keep, plus a short tail for failures).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { MACHMON, REPO } from '../helpers/cli.js';

export interface MachmonProcessOptions {
  readonly command: 'broker' | 'ingestor' | 'agent';
  readonly configFile: string;
  /** Label in messages (e.g. the agent's hostname). */
  readonly name: string;
  /** Log lines containing this are kept in memory (the rest only in the tail). */
  readonly keep?: string;
  /** Every line of every run is appended here. */
  readonly logFile?: string;
}

const TAIL = 200;

export class MachmonProcess {
  private child: ChildProcess | undefined;
  private partial = '';
  private file: fs.WriteStream | undefined;
  /** Kept lines, all runs. */
  readonly kept: string[] = [];
  /** Last lines of every kind, all runs. */
  readonly tail: string[] = [];
  /** Starts so far. */
  runs = 0;

  constructor(private readonly opts: MachmonProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and resolves once a log line containing `ready` appeared (or rejects when it exits first). */
  async start(ready: string, timeoutMs = 20_000): Promise<void> {
    if (this.running) throw new Error(`${this.opts.name} is already running`);
    this.runs++;
    const child = spawn(process.execPath, [MACHMON, this.opts.command, '--config', this.opts.configFile], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.partial = '';
    const file = this.opts.logFile ? fs.createWriteStream(this.opts.logFile, { flags: 'a' }) : undefined;
    child.once('close', () => file?.end());
    this.file = file;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.opts.name}: no "${ready}" within ${timeoutMs} ms\n${this.tail.slice(-30).join('\n')}`)), timeoutMs);
      const onLine = (line: string) => {
        if (line.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', (d: Buffer) => this.take(d.toString(), onLine));
      child.stderr!.on('data', (d: Buffer) => this.take(d.toString(), onLine));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.opts.name} exited (${code ?? signal}) before "${ready}"\n${this.tail.slice(-30).join('\n')}`));
      });
    });
    await seen;
  }

  private take(text: string, onLine: (line: string) => void): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line) continue;
      this.file?.write(`${line}\n`);
      if (this.opts.keep && line.includes(this.opts.keep)) this.kept.push(line);
      this.tail.push(line);
      if (this.tail.length > TAIL) this.tail.splice(0, this.tail.length - TAIL);
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
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    if (sig === 'SIGTERM') child.kill('SIGCONT');
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    // A line cut by SIGKILL is not a line.
    this.partial = '';
  }

  /** Kills without waiting (afterAll). */
  killNow(): void {
    if (this.running) {
      this.child!.kill('SIGCONT');
      this.child!.kill('SIGKILL');
    }
  }
}
