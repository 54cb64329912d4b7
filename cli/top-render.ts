// The screen and the snapshot table of `machmon top`: rows in, lines of text out, cut to the
// terminal's width and height. Pure, so it is tested on strings.
import type { HostRow, SortKey } from './top-model.js';

const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const BOLD_INVERSE = '\x1b[1;7m';
const RESET = '\x1b[0m';
/** Problems that make the row red; the others (stale, backlog growing) make it yellow. */
const SEVERE = new Set(['offline', 'under-voltage', 'throttled', 'hot', 'disk full']);

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

const num = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));

/** Pi flags: set now in capitals (UV under-voltage, THR throttled, CAP frequency capped, SOFT soft temperature limit), since boot only in lower case. */
export function piFlags(pi: HostRow['pi']): string {
  if (!pi) return '-';
  const f: string[] = [];
  if (pi.underVoltage) f.push('UV');
  else if (pi.underVoltageSinceBoot) f.push('uv');
  if (pi.throttled) f.push('THR');
  else if (pi.throttledSinceBoot) f.push('thr');
  if (pi.freqCapped) f.push('CAP');
  if (pi.softTempLimit) f.push('SOFT');
  return f.length ? f.join(',') : 'ok';
}

interface Column { title: string; width: number; right?: boolean; cell(r: HostRow): string }

const COLUMNS: Column[] = [
  { title: 'HOST', width: 20, cell: (r) => r.host },
  { title: 'STATE', width: 7, cell: (r) => (r.online === undefined ? '?' : r.online ? 'online' : 'offline') },
  { title: 'FOR', width: 8, right: true, cell: (r) => (r.forMs === undefined ? '-' : `${r.atLeast ? '>' : ''}${formatDuration(r.forMs)}`) },
  { title: 'AGE', width: 7, right: true, cell: (r) => formatDuration(r.lastReadingAgeMs) },
  { title: 'CPU%', width: 6, right: true, cell: (r) => num(r.cpuPercent) },
  { title: 'MEM%', width: 6, right: true, cell: (r) => num(r.memPercent) },
  { title: 'DISK%', width: 6, right: true, cell: (r) => num(r.diskPercent, 0) },
  { title: 'TEMP°C', width: 7, right: true, cell: (r) => num(r.hottestCelsius) },
  { title: 'PI', width: 12, cell: (r) => piFlags(r.pi) },
  { title: 'OUTBOX', width: 8, right: true, cell: (r) => (r.outboxMessages === undefined ? '-' : `${r.outboxMessages}${r.backlogGrowing ? '↑' : ''}`) },
  { title: 'PROBLEMS', width: 0, cell: (r) => r.problems.join(', ') },
];

function fit(text: string, c: Column): string {
  if (c.width === 0) return text;
  const t = text.length > c.width ? `${text.slice(0, c.width - 1)}…` : text;
  return c.right ? t.padStart(c.width) : t.padEnd(c.width);
}

const cut = (line: string, width: number) => ([...line].length > width ? [...line].slice(0, width).join('') : line);

export const tableHeader = () => COLUMNS.map((c) => fit(c.title, c)).join(' ').trimEnd();
export const tableLine = (r: HostRow) => COLUMNS.map((c) => fit(c.cell(r), c)).join(' ').trimEnd();

/** The --once table: a header and one line per host, no colours, full width. */
export function renderTable(rows: readonly HostRow[]): string {
  return [tableHeader(), ...rows.map(tableLine)].join('\n') + '\n';
}

export interface ScreenState {
  rows: readonly HostRow[];
  sort: SortKey;
  reverse: boolean;
  /** Where top reads from, and how that is going ("connected", an error). */
  source: string;
  connection: string;
  width: number;
  height: number;
  color: boolean;
}

/** One full screen: a title line, the column header, as many hosts as fit, and the key help. Every line is at most `width` columns. */
export function renderScreen(s: ScreenState): string[] {
  const online = s.rows.filter((r) => r.online).length;
  const problems = s.rows.filter((r) => r.problems.length).length;
  const paint = (code: string, text: string) => (s.color ? `${code}${text}${RESET}` : text);
  const title = `machmon top  ${s.rows.length} hosts, ${online} online, ${problems} with problems  sorted by ${s.sort}${s.reverse ? ' (reversed)' : ''}  ${s.source}: ${s.connection}`;
  const help = 'keys: h host  c cpu  t temperature  a age (again: reverse)  q quit';
  const room = Math.max(0, s.height - 3);
  const shown = s.rows.length > room ? s.rows.slice(0, Math.max(0, room - 1)) : s.rows;
  const lines = [cut(title, s.width), paint(BOLD_INVERSE, cut(tableHeader(), s.width).padEnd(s.width))];
  for (const r of shown) {
    const line = cut(tableLine(r), s.width);
    const severe = r.problems.some((p) => SEVERE.has(p));
    lines.push(r.problems.length ? paint(severe ? RED : YELLOW, line) : line);
  }
  if (shown.length < s.rows.length) lines.push(cut(`… ${s.rows.length - shown.length} more hosts (enlarge the window)`, s.width));
  if (s.rows.length === 0) lines.push(cut('no host seen yet (agents publish every interval; status comes at once)', s.width));
  while (lines.length < s.height - 1) lines.push('');
  lines.push(cut(help, s.width));
  return lines.slice(0, Math.max(1, s.height));
}
