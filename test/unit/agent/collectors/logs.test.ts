import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogs } from '../../../../agent/collectors/logs.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { readLinesAt } from '../../../../agent/read/tail.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, OUTPUTS } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

const traditional = readFileSync(path.join(OUTPUTS, 'syslog-pi-traditional.txt'), 'utf8').split('\n').filter(Boolean);

const rfc3339 = readFileSync(path.join(OUTPUTS, 'messages-rfc3339.txt'), 'utf8').split('\n').filter(Boolean);

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

// A real journald: a private namespace instance (systemd-journald <namespace>), fed through its
// syslog socket with util-linux `logger`, read by journalctl --directory like any journal.
const JOURNALD = '/usr/lib/systemd/systemd-journald';

const canRunJournald = process.getuid?.() === 0 && existsSync(JOURNALD) && existsSync('/etc/machine-id') && existsSync('/var/log/journal');

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
