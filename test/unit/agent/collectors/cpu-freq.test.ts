import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collector } from '../../../../agent/collectors/cpu-freq.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { contextOn, hostFile, hostTree, tempTree } from '../../../../testkit/fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('cpuFreq collector', () => {
  it('Pi 5: min and max of the recorded policy0 (arm_freq_min=1000); its current value was not recorded, so unset', async () => {
    const available = hostFile('pi5/sys/devices/system/cpu/cpufreq/policy0/scaling_available_frequencies').trim().split(/\s+/).map(Number);
    const { ctx } = contextOn(hostTree('pi5'));
    expect(await collector.create(ctx).collect()).toEqual({ rows: [{ policy: 'policy0', minKhz: Math.min(...available), maxKhz: Math.max(...available) }] });
  });

  it('Pi 4: the recorded 1500000 kHz current clock', async () => {
    const { ctx } = contextOn(hostTree('pi4'));
    expect(await collector.create(ctx).collect()).toEqual({ rows: [{ policy: 'policy0', curKhz: 1_500_000 }] });
  });

  it('no cpufreq (the x86 VM recording): NoDataError', async () => {
    const { ctx } = contextOn(hostTree('x86'));
    await expect(collector.create(ctx).collect()).rejects.toBeInstanceOf(NoDataError);
  });

  it('a malformed value is unset and warned about once', async () => {
    const t = tempTree('pi4');
    cleanups.push(t.cleanup);
    fs.writeFileSync(path.join(t.root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq'), '<unknown>\n');
    const { ctx, lines } = contextOn(t.root);
    const c = collector.create(ctx);
    expect(await c.collect()).toEqual({ rows: [{ policy: 'policy0' }] });
    await c.collect();
    expect(lines.filter((l) => l.msg === 'cpufreq value malformed, left unset')).toHaveLength(1);
  });
});
