// A real pino logger whose JSON lines a test reads back.
import pino from 'pino';
import type { Logger } from '../common/log.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const DEBUG = 20;
export const INFO = 30;
export const WARN = 40;

export interface CapturedLog {
  log: Logger;
  lines: LogLine[];
  /** The lines with this message. */
  messages(msg: string): LogLine[];
}

export function captureLog(level: pino.Level = 'debug'): CapturedLog {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines, messages: (msg) => lines.filter((l) => l.msg === msg) };
}
