// fan on recorded trees: the Pi 5 Active Cooler behind its hwmon symlink, a machine without fans,
// and malformed sysfs values.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collector } from '../../../../agent/collectors/fan.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { contextOn, hostTree, tempTree } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('fan collector', () => {
  it('Pi 5: pwmfan/fan1 at the recorded 1468 RPM; no pwm1 recorded, so no duty', async () => {
    const { ctx } = contextOn(hostTree('pi5'));
    const reading = await collector.create(ctx).collect();
    expect(reading).toEqual({ rows: [{ fan: 'pwmfan/fan1', rpm: 1468 }] });
    expect(decodeMetric('fan', encodeMetric('fan', { header, ...reading })).rows![0]!.pwmPercent).toBeUndefined();
  });

  it('a machine without a hwmon fan: NoDataError, logged once at debug', async () => {
    const { ctx, lines } = contextOn(hostTree('pi3'));
    const c = collector.create(ctx);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    expect(lines.filter((l) => l.msg === 'no hwmon fan: no fan group')).toHaveLength(1);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('malformed values are left unset with one warning each; the pwm duty becomes a percentage', async () => {
    const t = tempTree('pi5');
    cleanups.push(t.cleanup);
    const dir = path.join(t.root, 'sys/devices/platform/cooling_fan/hwmon/hwmon2');
    fs.writeFileSync(path.join(dir, 'pwm1'), '100\n');
    fs.writeFileSync(path.join(dir, 'fan1_input'), 'garbage\n');
    const { ctx, lines } = contextOn(t.root);
    const c = collector.create(ctx);
    expect(await c.collect()).toEqual({ rows: [{ fan: 'pwmfan/fan1', pwmPercent: 39.2 }] });
    expect(await c.collect()).toEqual({ rows: [{ fan: 'pwmfan/fan1', pwmPercent: 39.2 }] });
    expect(lines.filter((l) => l.msg === 'fan speed malformed, left unset')).toHaveLength(1);
  });
});
