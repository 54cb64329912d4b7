import { describe, expect, it } from 'vitest';
import { formatLocalDateTime, parseLoadavg, parseUptime } from '../../../../agent/parse/loadavg.js';
import { parseProcStat } from '../../../../agent/parse/proc-stat.js';
import { countUtmpUsers, isUserSession } from '../../../../agent/parse/utmp.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostFile, output, OUTPUTS } from '../../../../testkit/fixtures.js';

describe('uptime, load and users', () => {
  it('reads /proc/loadavg and /proc/uptime', () => {
    expect(parseLoadavg('0.74 2.50 4.16 1/211 4821\n')).toEqual({ load1: 0.74, load5: 2.5, load15: 4.16 });
    expect(() => parseLoadavg('')).toThrow(/loadavg/);
    expect(parseUptime(hostFile('x86/proc/uptime'))).toBeGreaterThan(0);
    expect(() => parseUptime('x')).toThrow(/uptime/);
  });

  it('formats the boot time as `uptime -s` printed it (machine in UTC)', () => {
    const btime = parseProcStat(hostFile('x86/proc/stat')).btime!;
    const uptimeS = hostFile('x86/out/uptime-s.txt').trim();
    const utc = new Date(btime * 1000).toISOString().slice(0, 19).replace('T', ' ');
    // uptime -s derives boot from now - uptime, btime is the kernel's: they may differ by a second.
    expect(Math.abs(Date.parse(`${utc}Z`) - Date.parse(`${uptimeS.replace(' ', 'T')}Z`))).toBeLessThanOrEqual(1000);
    const d = new Date(2025, 1, 5, 9, 4, 3);
    expect(formatLocalDateTime(d)).toBe('2025-02-05 09:04:03');
  });

  it('counts the users of a utmp file as who -q does', () => {
    const buf = readFileSync(path.join(OUTPUTS, 'utmp/utmp'));
    expect(buf.byteLength % 384).toBe(0);
    expect(countUtmpUsers(buf)).toBe(Number(/users=(\d+)/.exec(output('utmp/who-q.txt'))![1]));
    expect(countUtmpUsers(new Uint8Array(0))).toBe(0);
    // A truncated last record is ignored rather than misread.
    expect(countUtmpUsers(buf.subarray(0, buf.byteLength - 10))).toBe(2);
  });

  it('tells user sessions of logind from greeters and managers', () => {
    expect(isUserSession('# This is private data. Do not parse.\nUID=1000\nUSER=nisy\nACTIVE=1\nTYPE=wayland\nCLASS=user\n')).toBe(true);
    expect(isUserSession('UID=110\nUSER=lightdm\nCLASS=greeter\n')).toBe(false);
    expect(isUserSession('UID=1000\nUSER=pi\nTYPE=tty\n')).toBe(true);
  });
});
