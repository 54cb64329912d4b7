// "Log the reason once, not every cycle": a condition is logged the first time it is seen
// and again only after it went away (clear) and came back.
import type { Logger } from '../../common/log.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface OnceLog {
  /** Logs (level, obj, msg) unless the same key was logged and not cleared since. Returns true when it logged. */
  log(key: string, level: Level, obj: Record<string, unknown>, msg: string): boolean;
  /** Forgets a key (the condition is over), so it is logged again when it comes back. */
  clear(key: string): void;
  /** Keys currently remembered (for tests and debugging). */
  readonly keys: ReadonlySet<string>;
}

export function onceLog(log: Logger): OnceLog {
  const seen = new Set<string>();
  return {
    log(key, level, obj, msg) {
      if (seen.has(key)) return false;
      seen.add(key);
      log[level](obj, msg);
      return true;
    },
    clear(key) {
      seen.delete(key);
    },
    keys: seen,
  };
}
