// "Log the reason once, not every cycle": a condition is logged the first time it is seen
// and again only after it went away (clear or ok) and came back.
import type { Logger } from '../../../common/log.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogOnce {
  /** Logs (level, obj, msg) unless the same key was logged and not cleared since. Returns true when it logged. */
  log(key: string, level: Level, obj: Record<string, unknown>, msg: string): boolean;
  /** A value `key` failed: a warning with the error, the first time. */
  warn(key: string, err: unknown, msg: string): boolean;
  /** Forgets a key (the condition is over), so it is logged again when it comes back. */
  clear(key: string): void;
  /** Like clear, and says at info level that the value is readable again when it had failed. */
  ok(key: string): void;
  /** Keys currently remembered (for tests and debugging). */
  readonly keys: ReadonlySet<string>;
}

export function logOnce(log: Logger): LogOnce {
  const seen = new Set<string>();
  const once: LogOnce = {
    log(key, level, obj, msg) {
      if (seen.has(key)) return false;
      seen.add(key);
      log[level](obj, msg);
      return true;
    },
    warn: (key, err, msg) => once.log(key, 'warn', { err, what: key }, msg),
    clear(key) {
      seen.delete(key);
    },
    ok(key) {
      if (seen.delete(key)) log.info({ what: key }, 'value readable again');
    },
    keys: seen,
  };
  return once;
}
