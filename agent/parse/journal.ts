// System log lines from the systemd journal through `journalctl --output=json` (one child
// process per logs sample, bounded by a timeout; the agent has no libsystemd binding).
import { cutMessage, formatLocal, type LogLine } from './syslog.js';

/** Fields journalctl prints (with __CURSOR and __REALTIME_TIMESTAMP, which it always adds). */
export const JOURNAL_FIELDS = ['MESSAGE', 'SYSLOG_IDENTIFIER', '_COMM', '_HOSTNAME'];

export interface JournalEntry {
  cursor: string;
  line: LogLine;
}

/** A journal field is a string, an array of bytes (not valid UTF-8), null (too large) or an array of those (repeated field). */
function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (v.every((b) => typeof b === 'number')) return Buffer.from(v as number[]).toString('utf8');
    return fieldText(v[0]);
  }
  return undefined;
}

/** Parses one line of `journalctl --output=json`; undefined for a line that is not an entry. */
export function parseJournalJson(text: string): JournalEntry | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object' || typeof o.__CURSOR !== 'string') return undefined;
  const line: LogLine = {};
  const usec = Number(fieldText(o.__REALTIME_TIMESTAMP));
  if (Number.isFinite(usec) && usec > 0) line.date = formatLocal(new Date(Math.floor(usec / 1000)));
  const host = fieldText(o._HOSTNAME);
  if (host) line.host = host;
  const proc = fieldText(o.SYSLOG_IDENTIFIER) ?? fieldText(o._COMM);
  if (proc) line.process = proc;
  const msg = fieldText(o.MESSAGE);
  if (msg !== undefined) line.message = cutMessage(msg.replace(/\n+$/, ''));
  return { cursor: o.__CURSOR, line };
}

/** journalctl arguments for one sample: the last entry (to find the end) or up to `lines` entries after `cursor`. */
export function journalctlArgs(opts: { cursor?: string; lines: number; directory?: string }): string[] {
  const args = ['--output=json', `--output-fields=${JOURNAL_FIELDS.join(',')}`, '--no-pager', '--quiet', '-n', String(opts.lines)];
  if (opts.cursor) args.push(`--after-cursor=${opts.cursor}`);
  if (opts.directory) args.push(`--directory=${opts.directory}`);
  return args;
}
