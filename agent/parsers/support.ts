// Small helpers shared by the collectors that read /proc and /sys: log a failing value once,
// cache what rarely changes.
import type { Logger } from '../../common/log.js';

export interface Once {
  /** Logs a warning the first time `key` fails (until `ok(key)` clears it). */
  warn(key: string, err: unknown, msg: string): void;
  /** Marks `key` readable again; logs at info if it had failed before. */
  ok(key: string): void;
}

export function createOnce(log: Logger): Once {
  const failing = new Set<string>();
  return {
    warn(key, err, msg) {
      if (failing.has(key)) return;
      failing.add(key);
      log.warn({ err, what: key }, msg);
    },
    ok(key) {
      if (failing.delete(key)) log.info({ what: key }, 'value readable again');
    },
  };
}

/** The errno code of a failed read (ENOENT, EACCES...), or the message. */
export const reasonOf = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));

/**
 * A value that rarely changes (CPU count, boot time, user names), read again only when
 * `ttlMs` has passed. A failed read is not cached.
 */
export function cachedFor<T>(ttlMs: number, read: () => Promise<T>, now: () => number = Date.now): { get(): Promise<T>; clear(): void } {
  let cache: { value: T; at: number } | undefined;
  return {
    async get() {
      const t = now();
      if (cache && t - cache.at < ttlMs) return cache.value;
      const value = await read();
      cache = { value, at: t };
      return value;
    },
    clear() {
      cache = undefined;
    },
  };
}
