// Debian's mosquitto clients run as a person debugging runs them.
import { spawn } from 'node:child_process';
import { sleep } from './wait.js';

/** A long-running mosquitto_sub whose output lines can be awaited. */
export function mosquittoSub(port: number, username: string, password: string, topic: string, extra: string[] = []) {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', username, '-P', password, '-t', topic, '-v', '-q', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    /** Resolves once stdout holds `text`, rejects after timeoutMs. */
    async waitFor(text: string, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`mosquitto_sub did not print "${text}" in ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`);
        await sleep(20);
      }
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
