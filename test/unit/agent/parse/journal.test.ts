import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJournalJson, journalctlArgs } from '../../../../agent/parse/journal.js';
import { formatLocal } from '../../../../agent/parse/syslog.js';
import { OUTPUTS } from '../../../../testkit/fixtures.js';

const journalLines = readFileSync(path.join(OUTPUTS, 'journalctl-json-debian12.jsonl'), 'utf8').split('\n').filter(Boolean);

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
