// logs: new system log lines since the previous sample, at most metrics.logs.maxLines (100)
// per sample; a backlog drains over the next samples. Source, chosen every sample:
//   1. <rootDir>/var/log/syslog or <rootDir>/var/log/messages (rsyslog) when one exists: read
//      directly, remembering inode and offset, following rotation and truncation;
//   2. else the systemd journal through `journalctl --output=json --after-cursor=<cursor>`
//      (a child process per sample: the only way to read the journal without a native
//      binding; bounded by a 5 s timeout and killed on close). With a rootDir other than /
//      it reads <rootDir>/var/log/journal (--directory).
// The first sample of a source starts at its end: no history dump. Every 30 s by default.
import { stat } from 'node:fs/promises';
import { errText } from '../../common/errors.js';
import { journalctlArgs, parseJournalJson } from '../parse/journal.js';
import { logOnce } from './shared/log-once.js';
import { runBounded } from '../read/run-bounded.js';
import { parseSyslogLine, type LogLine } from '../parse/syslog.js';
import { tailFile, type TailState } from '../read/tail.js';
import type { LogsRow } from '../../proto/gen/machmon.js';
import { NoDataError, type Collector, type CollectorContext, type CollectorEntry } from './types.js';

/** Text read per sample at most, so one reading stays well below the broker's payload limit (256 KiB). */
export const MAX_SAMPLE_BYTES = 128 * 1024;
export const JOURNALCTL_TIMEOUT_MS = 5000;

const toRow = (l: LogLine): LogsRow => {
  const row: LogsRow = {};
  if (l.date !== undefined) row.date = l.date;
  if (l.host !== undefined) row.host = l.host;
  if (l.process !== undefined) row.process = l.process;
  if (l.message !== undefined) row.message = l.message;
  return row;
};

const rowBytes = (r: LogsRow) => (r.date?.length ?? 0) + (r.host?.length ?? 0) + (r.process?.length ?? 0) + Buffer.byteLength(r.message ?? '');

export interface LogsDeps {
  /** The journalctl program (default: found on PATH by execFile). */
  journalctl?: string;
}

export function createLogs(ctx: CollectorContext, deps: LogsDeps = {}): Collector<'logs'> {
  const { config, paths, log } = ctx;
  const once = logOnce(log);
  const maxLines = config.metrics.logs.maxLines;
  const candidates = [paths.root('var', 'log', 'syslog'), paths.root('var', 'log', 'messages')];
  const journalDir = config.rootDir === '/' ? undefined : paths.root('var', 'log', 'journal');
  const journalctl = deps.journalctl ?? 'journalctl';
  let source: string | undefined; // file path or 'journal'
  let tail: TailState | undefined;
  let journal: { cursor: string | undefined } | undefined;
  let aborter = new AbortController();

  async function pickSource(): Promise<string> {
    for (const file of candidates) {
      if (await stat(file).then((s) => s.isFile(), () => false)) return file;
    }
    return 'journal';
  }

  async function fromFile(file: string): Promise<LogsRow[]> {
    const r = await tailFile(file, tail, maxLines, MAX_SAMPLE_BYTES);
    if (!r) {
      tail = undefined;
      return [];
    }
    if (r.event) log.info({ file, event: r.event }, 'system log file rotated or truncated: reading it from the start');
    tail = r.state;
    const now = new Date();
    return r.lines.map((l) => toRow(parseSyslogLine(l, now)));
  }

  async function fromJournal(): Promise<LogsRow[]> {
    const first = journal === undefined;
    const args = journalctlArgs(first ? { lines: 1, directory: journalDir } : { cursor: journal!.cursor, lines: maxLines, directory: journalDir });
    let res;
    try {
      res = await runBounded(journalctl, args, { timeoutMs: JOURNALCTL_TIMEOUT_MS, maxBufferBytes: maxLines * 16 * 1024 + 64 * 1024, signal: aborter.signal, env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
    } catch (err) {
      once.log('journal:error', 'warn', { reason: errText(err) }, 'journalctl failed: no logs this sample');
      throw new NoDataError(`journalctl failed: ${errText(err)}`);
    }
    if (res.code !== 0) {
      const why = res.stderr.trim().split('\n')[0] ?? '';
      if (/cursor/i.test(why)) journal = undefined; // the entry is gone (journal vacuumed): start again at the end
      once.log('journal:exit', 'warn', { code: res.code, reason: why }, 'journalctl failed: no logs this sample');
      throw new NoDataError(`journalctl exited with ${res.code}: ${why}`);
    }
    once.clear('journal:error');
    once.clear('journal:exit');
    const entries = res.stdout.split('\n').filter(Boolean).map(parseJournalJson).filter((e) => e !== undefined);
    if (first) {
      journal = { cursor: entries.at(-1)?.cursor };
      return [];
    }
    const rows: LogsRow[] = [];
    let bytes = 0;
    for (const e of entries) {
      const row = toRow(e.line);
      bytes += rowBytes(row);
      if (rows.length > 0 && bytes > MAX_SAMPLE_BYTES) break; // the rest comes next sample
      rows.push(row);
      journal!.cursor = e.cursor;
    }
    return rows;
  }

  return {
    name: 'logs',
    async collect() {
      const picked = await pickSource();
      if (picked !== source) {
        if (source !== undefined) log.info({ from: source, to: picked }, 'system log source changed');
        source = picked;
        tail = undefined;
        journal = undefined;
      }
      let rows: LogsRow[];
      try {
        rows = picked === 'journal' ? await fromJournal() : await fromFile(picked);
      } catch (err) {
        if (err instanceof NoDataError) throw err;
        once.log(`${picked}:error`, 'warn', { source: picked, reason: errText(err) }, 'system log unreadable: no logs this sample');
        throw new NoDataError(`${picked}: ${errText(err)}`);
      }
      once.clear(`${picked}:error`);
      if (rows.length === 0) throw new NoDataError('no new system log line');
      return { rows };
    },
    close() {
      aborter.abort();
      aborter = new AbortController();
    },
  };
}

export const collector: CollectorEntry<'logs'> = {
  defaultEnabled: true,
  create: (ctx) => createLogs(ctx),
};
