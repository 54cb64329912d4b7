import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CHARS, parseSyslogLine } from '../../../../agent/parse/syslog.js';
import { OUTPUTS } from '../../../../testkit/fixtures.js';

const traditional = readFileSync(path.join(OUTPUTS, 'syslog-pi-traditional.txt'), 'utf8').split('\n').filter(Boolean);

const rfc3339 = readFileSync(path.join(OUTPUTS, 'messages-rfc3339.txt'), 'utf8').split('\n').filter(Boolean);

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
