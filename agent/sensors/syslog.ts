// System log lines from a text file (/var/log/syslog or /var/log/messages, written by rsyslog).
// Parsing is pure; the tail remembers inode and offset, follows rotation (finishing the
// rotated <file>.1 first) and truncation, and never returns a partial last line.
import { open, stat } from 'node:fs/promises';
import { isMissing } from './fs-read.js';

export interface LogLine {
  /** "YYYY-MM-DD HH:MM:SS", local time of the machine. */
  date?: string;
  host?: string;
  /** Syslog tag / SYSLOG_IDENTIFIER, without the [pid]. */
  process?: string;
  message?: string;
}

/** Messages longer than this are cut (one reading must stay far below the broker's payload limit). */
export const MAX_MESSAGE_CHARS = 2048;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** "YYYY-MM-DD HH:MM:SS" of a Date in local time. */
export const formatLocal = (d: Date): string =>
  `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

export const cutMessage = (m: string): string => (m.length > MAX_MESSAGE_CHARS ? `${m.slice(0, MAX_MESSAGE_CHARS - 1)}…` : m);

// RSYSLOG_FileFormat (Debian 12+): 2024-01-15T10:23:45.123456+01:00 host tag[pid]: msg
const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+(\S+)\s+(.*)$/s;
// RSYSLOG_TraditionalFileFormat (older Raspbian/Debian): Nov 28 00:38:29 host tag[pid]: msg
const TRADITIONAL = /^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\s+(\S+)\s+(.*)$/s;
const TAG = /^([^\s:[\]]+)(?:\[\d+\])?:\s*(.*)$/s;

/**
 * Parses one syslog file line. The traditional format has no year: it is the year of `now`,
 * or the one before when that would put the line more than a day in the future (December
 * lines read in January). A line in neither format becomes a message alone.
 */
export function parseSyslogLine(line: string, now = new Date()): LogLine {
  let date: string | undefined;
  let host: string | undefined;
  let rest: string;
  const iso = RFC3339.exec(line);
  const trad = iso ? null : TRADITIONAL.exec(line);
  if (iso) {
    date = `${iso[1]} ${iso[2]}`;
    host = iso[3];
    rest = iso[4]!;
  } else if (trad && MONTHS.includes(trad[1]!)) {
    const [, mon, day, hh, mm, ss] = trad;
    let d = new Date(now.getFullYear(), MONTHS.indexOf(mon!), Number(day), Number(hh), Number(mm), Number(ss));
    if (d.getTime() - now.getTime() > 86_400_000) d = new Date(now.getFullYear() - 1, MONTHS.indexOf(mon!), Number(day), Number(hh), Number(mm), Number(ss));
    date = formatLocal(d);
    host = trad[6];
    rest = trad[7]!;
  } else {
    return { message: cutMessage(line) };
  }
  const out: LogLine = { date, host };
  const tag = TAG.exec(rest);
  if (tag) {
    out.process = tag[1];
    out.message = cutMessage(tag[2]!);
  } else {
    out.message = cutMessage(rest);
  }
  return out;
}

export interface TailState {
  ino: number;
  offset: number;
}

export interface TailResult {
  lines: string[];
  state: TailState;
  /** What happened to the file since the last read. */
  event?: 'rotated' | 'truncated';
}

/** Reads whole lines from `offset`, at most `maxLines` and about `maxBytes`; returns them and the bytes consumed. */
export async function readLinesAt(file: string, offset: number, maxLines: number, maxBytes: number): Promise<{ lines: string[]; consumed: number }> {
  if (maxLines <= 0) return { lines: [], consumed: 0 };
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await fh.read(buf, 0, maxBytes, offset);
    const lines: string[] = [];
    let pos = 0;
    while (lines.length < maxLines && pos < bytesRead) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0 || nl >= bytesRead) {
        // No newline: a partial last line (wait for the rest), unless one line fills the whole buffer.
        if (pos === 0 && bytesRead === maxBytes) {
          lines.push(buf.toString('utf8', 0, bytesRead));
          pos = bytesRead;
        }
        break;
      }
      const text = buf.toString('utf8', pos, nl).replace(/\r$/, '');
      pos = nl + 1;
      if (text.length > 0) lines.push(text);
    }
    return { lines, consumed: pos };
  } finally {
    await fh.close();
  }
}

/**
 * One tail step on `file`. Without a previous state it starts at the end (no history dump).
 * Returns undefined when the file does not exist.
 */
export async function tailFile(file: string, prev: TailState | undefined, maxLines: number, maxBytes: number): Promise<TailResult | undefined> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  if (!prev) return { lines: [], state: { ino: st.ino, offset: st.size } };
  const lines: string[] = [];
  let state: TailState = prev;
  let event: TailResult['event'];
  if (st.ino !== prev.ino) {
    event = 'rotated';
    // logrotate renamed the file to <file>.1: read what was written there after our offset.
    const rotated = `${file}.1`;
    const old = await stat(rotated).catch(() => undefined);
    if (old && old.ino === prev.ino && old.size > prev.offset) {
      const r = await readLinesAt(rotated, prev.offset, maxLines, maxBytes);
      lines.push(...r.lines);
    }
    state = { ino: st.ino, offset: 0 };
  } else if (st.size < prev.offset) {
    event = 'truncated'; // copytruncate or an admin emptied the file
    state = { ino: st.ino, offset: 0 };
  }
  if (lines.length < maxLines && st.size > state.offset) {
    const r = await readLinesAt(file, state.offset, maxLines - lines.length, maxBytes);
    lines.push(...r.lines);
    state = { ino: state.ino, offset: state.offset + r.consumed };
  }
  return event ? { lines, state, event } : { lines, state };
}
