// One pino root logger per process; components take children (log.child({component})).
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogConfig } from './config.js';

export type { Logger };

const REDACT = ['password', 'secretPassword', 'readerPassword', '*.password', '*.secretPassword', '*.readerPassword', '*.*.password', 'token', '*.token'];

/**
 * pino-pretty, loaded only for a terminal: a service (systemd, Docker) never runs its code,
 * which costs a Pi's agent megabytes. In the CommonJS Pi bundle `require` exists and esbuild
 * bundles the call (the module body runs on first call only); compiled ESM asks Node.
 */
function loadPretty(): typeof PinoPretty {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = (typeof require === 'function' ? require('pino-pretty') : createRequire(import.meta.url)('pino-pretty')) as { default?: typeof PinoPretty } & typeof PinoPretty;
  return mod.default ?? mod;
}

/**
 * JSON lines to the configured file or stdout; human-readable when stdout is a terminal.
 * With a file and `terminal`, lines of that level and above also go to stderr, one short line
 * each (`machmon up` on a terminal: its errors on screen, everything in the file).
 */
export function createLogger(cfg: LogConfig, name = 'machmon', opts: { terminal?: pino.Level } = {}): Logger {
  const options: pino.LoggerOptions = { name, level: cfg.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (cfg.file && opts.terminal) {
    const file = pino.destination({ dest: cfg.file, mkdir: true, sync: false });
    return pino(options, pino.multistream([{ level: cfg.level, stream: file }, { level: opts.terminal, stream: { write: (line: string) => process.stderr.write(briefLine(line)) } }]));
  }
  if (cfg.file) return pino(options, pino.destination({ dest: cfg.file, mkdir: true, sync: false }));
  if (process.stdout.isTTY) return pino(options, loadPretty()({ colorize: true, sync: true }));
  return pino(options);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One JSON log line as a person reads it on a terminal: time, level, message, the error's message and code (no stack; that is in the file). */
export function briefLine(json: string): string {
  let o: { time?: number; level?: number; msg?: string; err?: { message?: string; code?: string } };
  try {
    o = JSON.parse(json) as typeof o;
  } catch {
    return json;
  }
  const time = new Date(o.time ?? Date.now()).toTimeString().slice(0, 8);
  const err = o.err?.message ? `: ${o.err.message}${o.err.code ? ` [${o.err.code}]` : ''}` : '';
  return `${time} ${LEVEL_NAMES[o.level ?? 30] ?? o.level} ${o.msg ?? ''}${err}\n`;
}

/** A logger that writes nothing (library use and tests that do not look at logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
