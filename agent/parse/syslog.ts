// System log lines from a text file (/var/log/syslog or /var/log/messages, written by rsyslog).

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
