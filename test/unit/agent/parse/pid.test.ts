import { describe, expect, it } from 'vitest';
import { commandLine, formatCpuTime, parseIdNames, parsePidStat, parsePidStatus } from '../../../../agent/parse/pid.js';
import { parseProcStat } from '../../../../agent/parse/proc-stat.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostFile, HOSTS } from '../../../../testkit/fixtures.js';

describe('/proc/<pid> -> ps', () => {
  /** ps lines that did not change while /proc was copied: pid -> columns. */
  function stablePs(): Map<number, { user: string; group: string; ni: string; stat: string; lstart: string; time: string; args: string }> {
    const parse = (text: string) =>
      new Map(
        text
          .split('\n')
          .slice(1)
          .filter(Boolean)
          .map((l) => {
            const f = l.trim().split(/\s+/);
            return [l, { pid: Number(f[0]), user: f[1]!, group: f[2]!, ni: f[3]!, stat: f[4]!, lstart: f.slice(5, 10).join(' '), time: f[10]!, args: f.slice(11).join(' ') }] as const;
          }),
      );
    const before = parse(hostFile('x86/out/ps-before.txt'));
    const after = parse(hostFile('x86/out/ps-after.txt'));
    const out = new Map<number, { user: string; group: string; ni: string; stat: string; lstart: string; time: string; args: string }>();
    for (const [line, v] of before) if (after.has(line)) out.set(v.pid, v);
    return out;
  }

  it('gives ps its columns for the processes recorded on this machine', () => {
    const users = parseIdNames(hostFile('x86/etc/passwd'));
    const groups = parseIdNames(hostFile('x86/etc/group'));
    const btime = parseProcStat(hostFile('x86/proc/stat')).btime!;
    const ps = stablePs();
    expect(ps.size).toBeGreaterThan(40);
    const pretty = (s: string) => new Date(s).toISOString().slice(0, 19).replace('T', ' ');
    let compared = 0;
    for (const [pid, want] of ps) {
      const dir = path.join(HOSTS, 'x86/proc', String(pid));
      const st = parsePidStat(readFileSync(path.join(dir, 'stat'), 'utf8'));
      const status = parsePidStatus(readFileSync(path.join(dir, 'status'), 'utf8'));
      const cmd = commandLine(readFileSync(path.join(dir, 'cmdline'), 'utf8'), st.comm, st.state);
      expect(st.pid).toBe(pid);
      expect(users.get(status.euid!), `${pid} user`).toBe(want.user);
      expect(groups.get(status.egid!), `${pid} group`).toBe(want.group);
      expect(st.nice === undefined ? '-' : String(st.nice), `${pid} nice`).toBe(want.ni);
      expect(st.state, `${pid} state`).toBe(want.stat[0]);
      expect(formatCpuTime(st.cpuTicks), `${pid} time`).toBe(want.time);
      expect(cmd, `${pid} args`).toBe(want.args);
      // lstart was printed in UTC (the recording machine's zone); ps rounds the start down to the second.
      const start = new Date((btime + Math.floor(st.startTicks / 100)) * 1000).toISOString().slice(0, 19).replace('T', ' ');
      expect(start, `${pid} start`).toBe(pretty(`${want.lstart} UTC`));
      compared++;
    }
    expect(compared).toBe(ps.size);
  });

  it('finds the command name when it holds spaces and parentheses', () => {
    const odd = [...stablePs().values()].find((p) => p.args.includes('odd (name) x'));
    expect(odd).toBeDefined();
    // The recorded line with utime, stime and nice changed; without the fields after rss (old kernels).
    const st = parsePidStat('9626 (odd (name) x) S 9497 9452 4372 0 -1 4194304 101 0 0 0 7 3 0 0 20 5 1 0 110182 2990080 415 18446744073709551615');
    expect(st).toEqual({ pid: 9626, comm: 'odd (name) x', state: 'S', cpuTicks: 10, nice: 5, startTicks: 110182 });
    const rt = readFileSync(path.join(HOSTS, 'x86/proc/18/stat'), 'utf8');
    expect(parsePidStat(rt).nice).toBeUndefined(); // migration/0: SCHED_FIFO, ps prints "-"
    expect(stablePs().get(18)?.ni).toBe('-');
    expect(() => parsePidStat('')).toThrow(/not a \/proc/);
  });

  it('formats CPU time as ps does and shows argv-less processes in brackets', () => {
    expect(formatCpuTime(0)).toBe('00:00:00');
    expect(formatCpuTime(8300)).toBe('00:01:23');
    expect(formatCpuTime((2 * 86400 + 3 * 3600 + 4 * 60 + 5) * 100 + 99)).toBe('2-03:04:05');
    expect(commandLine('', 'kthreadd')).toBe('[kthreadd]');
    expect(commandLine('', 'esbuild', 'Z')).toBe('[esbuild] <defunct>');
    expect(commandLine('/usr/bin/labwc\0-m\0', 'labwc')).toBe('/usr/bin/labwc -m');
  });

  it('reads passwd and group, first entry winning', () => {
    const m = parseIdNames('# comment\nroot:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/x\nbroken\n');
    expect(m.get(0)).toBe('root');
    expect(m.get(65534)).toBe('nobody');
    expect(m.size).toBe(2);
  });
});
