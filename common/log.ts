// One pino root logger per process; components take children (log.child({component})).
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogConfig } from './config.js';

export type { Logger };

const REDACT = ['password', 'secretPassword', '*.password', '*.secretPassword', '*.*.password', 'token', '*.token'];

/** JSON lines to the configured file or stdout; human-readable when stdout is a terminal. */
export function createLogger(cfg: LogConfig, name = 'machmon'): Logger {
  const options: pino.LoggerOptions = { name, level: cfg.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (cfg.file) return pino(options, pino.destination({ dest: cfg.file, mkdir: true, sync: false }));
  if (process.stdout.isTTY) return pino(options, pretty({ colorize: true, sync: true }));
  return pino(options);
}

/** A logger that writes nothing (library use and tests that do not look at logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
