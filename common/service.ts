import type { Logger } from './log.js';

/** A long-running part of Machmon (broker, ingestor, agent) started by the CLI or a test. */
export interface Service {
  /** Stops accepting work, flushes what can be flushed and releases sockets and files. */
  stop(): Promise<void>;
}

/**
 * Keeps the process serving until SIGINT or SIGTERM, then stops the services. Resolves 0 when
 * they stopped, 1 when a stop failed. A stop that hangs longer than forceExitMs ends the
 * process, so systemd or a terminal is never kept waiting.
 */
export function runUntilSignal(services: readonly Service[], log: Logger, forceExitMs = 10_000): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      setTimeout(() => process.exit(0), forceExitMs).unref();
      Promise.allSettled(services.map((s) => s.stop())).then((results) => {
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        for (const f of failed) log.error({ err: f.reason }, 'stop failed');
        resolve(failed.length ? 1 : 0);
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
