import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogs } from '../../../../agent/collectors/logs.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { parseJournalJson, journalctlArgs } from '../../../../agent/parse/journal.js';
import { formatLocal, MAX_MESSAGE_CHARS, parseSyslogLine } from '../../../../agent/parse/syslog.js';
import { readLinesAt } from '../../../../agent/read/tail.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, OUTPUTS } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };
const traditional = readFileSync(path.join(OUTPUTS, 'syslog-pi-traditional.txt'), 'utf8').split('\n').filter(Boolean);
const rfc3339 = readFileSync(path.join(OUTPUTS, 'messages-rfc3339.txt'), 'utf8').split('\n').filter(Boolean);
const journalLines = readFileSync(path.join(OUTPUTS, 'journalctl-json-debian12.jsonl'), 'utf8').split('\n').filter(Boolean);

const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});
async function tmpRoot() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'machmon-logs-'));
  tmpDirs.push(root);
  await mkdir(path.join(root, 'var/log'), { recursive: true });
  return root;
}
const lines = (l: string[]) => l.map((x) => `${x}\n`).join('');

describe('syslog line parser (recorded lines)', () => {
  const may2014 = new Date(2014, 4, 1);
  it('reads the traditional format of a Raspberry Pi syslog', () => {
    expect(parseSyslogLine(traditional[0]!, may2014)).toEqual({
      date: '2014-04-19 06:25:06', host: 'raspberrypi', process: 'rsyslogd',
      message: '[origin software="rsyslogd" swVersion="5.8.11" x-pid="1892" x-info="http://www.rsyslog.com"] rsyslogd was HUPed',
    });
    expect(parseSyslogLine(traditional[2]!, may2014)).toEqual({ date: '2014-04-19 07:17:01', host: 'raspberrypi', process: '/USR/SBIN/CRON', message: '(root) CMD (   cd / && run-parts --report /etc/cron.hourly)' });
    expect(parseSyslogLine(traditional[5]!, may2014)).toMatchObject({ process: 'ifplugd(eth0)', message: 'Link beat lost.' });
    expect(parseSyslogLine(traditional[4]!, may2014)).toMatchObject({ process: 'kernel', message: '[216468.455037] smsc95xx 1-1.1:1.0 eth0: link down' });
  });
  it('puts a December line read in January in the previous year', () => {
    expect(parseSyslogLine('Dec 31 23:59:59 pi cron[1]: x', new Date(2025, 0, 1, 0, 5)).date).toBe('2024-12-31 23:59:59');
    expect(parseSyslogLine('Jan  1 00:01:00 pi cron[1]: x', new Date(2025, 0, 1, 0, 5)).date).toBe('2025-01-01 00:01:00');
  });
  it('reads rsyslog\'s RFC 3339 file format', () => {
    expect(parseSyslogLine(rfc3339[0]!)).toEqual({ date: '2020-05-31 00:00:45', host: 'localhost', process: 'rsyslogd', message: 'message repeated 76 times: [-- MARK --]' });
    expect(parseSyslogLine(rfc3339[2]!)).toEqual({ date: '2020-05-31 00:00:45', host: 'localhost', process: 'systemd', message: 'Reloaded System Logging Service.' });
  });
  it('keeps a line in no known format as a message, and cuts long messages', () => {
    expect(parseSyslogLine('-- MARK --')).toEqual({ message: '-- MARK --' });
    expect(parseSyslogLine(`2020-05-31T00:00:45Z h t: ${'x'.repeat(5000)}`).message).toHaveLength(MAX_MESSAGE_CHARS);
  });
});

describe('journal JSON parser (lines recorded from journalctl 252 on this machine)', () => {
  it('takes date, host, identifier and message, and the cursor', () => {
    const entries = journalLines.map(parseJournalJson);
    expect(entries.every((e) => e !== undefined)).toBe(true);
    expect(entries[2]).toEqual({
      cursor: 's=b5cdf2e5e138469b8bbfe73f4dc55e7c;i=3;b=33cb8f67d3844803b4fad894386dec9b;m=39bcc092;t=6614b653f51f7;x=a7566abee339f012',
      line: { date: formatLocal(new Date(1795826309353)), host: 'vm', process: 'machmon-test', message: 'first line from logger' },
    });
    expect(entries[0]!.line.process).toBe('systemd-journald');
  });
  it('decodes byte-array messages, falls back to _COMM, leaves a null (too large) message unset, skips non-entries', () => {
    expect(parseJournalJson('{"__CURSOR":"s=1","MESSAGE":[104,105,255],"_COMM":"sh"}')?.line).toEqual({ message: 'hi\uFFFD', process: 'sh' });
    expect(parseJournalJson('{"__CURSOR":"s=1","MESSAGE":null}')?.line).toEqual({});
    expect(parseJournalJson('{"MESSAGE":"no cursor"}')).toBeUndefined();
    expect(parseJournalJson('not json')).toBeUndefined();
  });
  it('asks journalctl for at most N entries after the cursor', () => {
    expect(journalctlArgs({ cursor: 's=1;i=2', lines: 100, directory: '/r/var/log/journal' })).toEqual([
      '--output=json', '--output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM,_HOSTNAME', '--no-pager', '--quiet', '-n', '100', '--after-cursor=s=1;i=2', '--directory=/r/var/log/journal',
    ]);
  });
});

describe('logs collector on a syslog file', () => {
  it('starts at the end, then returns only new whole lines; a partial last line waits for its end', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'var/log/syslog');
    await writeFile(file, lines(traditional.slice(0, 3)));
    const c = createLogs(collectorContext({ rootDir: root }).ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError); // no history dump
    await appendFile(file, lines(traditional.slice(3, 5)));
    const r1 = await c.collect();
    expect(r1.rows!.map((r) => r.message)).toEqual(['[211963.452286] smsc95xx 1-1.1:1.0 eth0: kevent 2 may have been dropped', '[216468.455037] smsc95xx 1-1.1:1.0 eth0: link down']);
    const line = traditional[5]!;
    await appendFile(file, line.slice(0, 40));
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await appendFile(file, `${line.slice(40)}\n`);
    const r2 = await c.collect();
    expect(r2.rows).toHaveLength(1);
    expect(r2.rows![0]).toMatchObject({ host: 'raspberrypi', process: 'ifplugd(eth0)', message: 'Link beat lost.' });
    const decoded = decodeMetric('logs', encodeMetric('logs', { header, ...r1 }));
    expect(decoded.rows![1]!.process).toBe('kernel');
  });

  it('reads at most metrics.logs.maxLines per sample; the backlog drains over the next samples', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'var/log/syslog');
    await writeFile(file, '');
    const c = createLogs(collectorContext({ rootDir: root, metrics: { logs: { maxLines: 4 } } }).ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await appendFile(file, lines(traditional.slice(0, 10)));
    const sizes = [];
    for (let i = 0; i < 3; i++) sizes.push((await c.collect()).rows!.length);
    expect(sizes).toEqual([4, 4, 2]);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
  });

  it('after rotation reads the rest of the rotated file, then the new file from its start', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'var/log/syslog');
    await writeFile(file, lines(traditional.slice(0, 2)));
    const { ctx, messages } = collectorContext({ rootDir: root });
    const c = createLogs(ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await appendFile(file, lines(traditional.slice(2, 4))); // written before logrotate, not read yet
    await rename(file, `${file}.1`);
    await writeFile(file, lines(traditional.slice(4, 7)));
    const { rows } = await c.collect();
    expect(rows!.map((r) => r.date!.slice(5))).toEqual(['04-19 07:17:01', '04-19 14:46:58', '04-19 16:02:03', '04-19 16:02:03', '04-19 16:02:05']);
    expect(messages('system log file rotated or truncated: reading it from the start')).toEqual([expect.objectContaining({ event: 'rotated' })]);
  });

  it('after truncation (copytruncate) reads the file from its start', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'var/log/syslog');
    await writeFile(file, lines(traditional.slice(0, 8)));
    const { ctx, messages } = collectorContext({ rootDir: root });
    const c = createLogs(ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await truncate(file, 0);
    await appendFile(file, lines(traditional.slice(12, 14)));
    const { rows } = await c.collect();
    expect(rows!.map((r) => r.message)).toEqual(['[216475.975229] smsc95xx 1-1.1:1.0 eth0: link up, 100Mbps, full-duplex, lpa 0xCDE1', 'Link beat detected.']);
    expect(messages('system log file rotated or truncated: reading it from the start')).toEqual([expect.objectContaining({ event: 'truncated' })]);
  });

  it('reads /var/log/messages where there is no syslog', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'var/log/messages');
    await writeFile(file, '');
    const c = createLogs(collectorContext({ rootDir: root }).ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await appendFile(file, lines(rfc3339));
    const { rows } = await c.collect();
    expect(rows).toHaveLength(5);
    expect(rows![4]).toEqual({ date: '2020-05-31 00:00:47', host: 'localhost', process: 'systemd', message: 'Started Do daily mandb update.' });
  });

  it('takes one over-long line (no newline in the whole buffer) as it is instead of sticking on it', async () => {
    const root = await tmpRoot();
    const file = path.join(root, 'x');
    await writeFile(file, 'a'.repeat(100));
    expect(await readLinesAt(file, 0, 10, 64)).toEqual({ lines: ['a'.repeat(64)], consumed: 64 });
    expect(await readLinesAt(file, 0, 10, 200)).toEqual({ lines: [], consumed: 0 });
  });
});

// A real journald: a private namespace instance (systemd-journald <namespace>), fed through its
// syslog socket with util-linux `logger`, read by journalctl --directory like any journal.
const JOURNALD = '/usr/lib/systemd/systemd-journald';
const canRunJournald = process.getuid?.() === 0 && existsSync(JOURNALD) && existsSync('/etc/machine-id') && existsSync('/var/log/journal');

describe.skipIf(!canRunJournald)('logs collector on a real journal', () => {
  const ns = `machmon-t${process.pid}`;
  const machineId = canRunJournald ? readFileSync('/etc/machine-id', 'utf8').trim() : '';
  const journalDir = `/var/log/journal/${machineId}.${ns}`;
  const runDir = `/run/systemd/journal.${ns}`;
  let journald: ChildProcess | undefined;
  let root = '';
  const journalCount = () => execFileSync('journalctl', ['--directory', journalDir, '-o', 'json', '--no-pager', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
  const waitFor = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 100; i++) {
      if (ok()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`journald: ${what} did not happen within 5 s`);
  };
  const log = (tag: string, msg: string) => execFileSync('logger', ['-u', `${runDir}/dev-log`, '-t', tag, msg]);

  beforeAll(async () => {
    journald = spawn(JOURNALD, [ns], { stdio: 'ignore' });
    await waitFor('socket', () => existsSync(`${runDir}/dev-log`));
    await waitFor('journal directory', () => existsSync(journalDir));
    await waitFor('start entries', () => journalCount() >= 2);
    root = await tmpRoot();
    await symlink(journalDir, path.join(root, 'var/log/journal'));
  });
  afterAll(async () => {
    if (journald && journald.exitCode === null) {
      const exited = new Promise((r) => journald!.once('exit', r));
      journald.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (journald.exitCode === null) journald.kill('SIGKILL');
    }
    await rm(journalDir, { recursive: true, force: true });
    await rm(runDir, { recursive: true, force: true });
  });

  it('starts at the end of the journal, then returns new entries after its cursor, at most maxLines each', async () => {
    const c = createLogs(collectorContext({ rootDir: root, metrics: { logs: { maxLines: 2 } } }).ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError); // the journald start entries are history
    const before = journalCount();
    for (const m of ['one', 'two', 'three']) log('machmon-logs-test', `journal line ${m}`);
    await waitFor('the three lines', () => journalCount() >= before + 3);
    const first = await c.collect();
    const second = await c.collect();
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    expect(first.rows).toHaveLength(2);
    expect([...first.rows!, ...second.rows!]).toEqual(['one', 'two', 'three'].map((m) => ({
      date: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), host: os.hostname(), process: 'machmon-logs-test', message: `journal line ${m}`,
    })));
  });
});
