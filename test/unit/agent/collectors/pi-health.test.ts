import { describe, expect, it } from 'vitest';
import { createPiHealth } from '../../../../agent/collectors/pi-health.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, hostTree } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

const ALL_CLEAR = {
  throttledRaw: 0, underVoltageNow: 0, freqCappedNow: 0, throttledNow: 0, softTempLimitNow: 0,
  underVoltageSinceBoot: 0, freqCappedSinceBoot: 0, throttledSinceBoot: 0, softTempLimitSinceBoot: 0,
};

describe('piHealth collector on fixture trees', () => {
  it('Pi 3: throttling flags and model; no rpi_volt, no cpufreq: left unset', async () => {
    const { ctx } = collectorContext({ rootDir: hostTree('pi3') });
    const reading = await createPiHealth(ctx).collect();
    expect(reading).toEqual({ ...ALL_CLEAR, throttledRaw: 0x80008, softTempLimitNow: 1, softTempLimitSinceBoot: 1, model: 'Raspberry Pi 3 Model B Rev 1.2', revision: 'a020d3', serial: '0000000056ee0f6d' });
    const decoded = decodeMetric('piHealth', encodeMetric('piHealth', { header, ...reading }));
    expect(decoded.hwmonLcritAlarm).toBeUndefined();
    expect(decoded.softTempLimitNow).toBe(1);
    expect(decoded.underVoltageNow).toBe(0); // a real zero is stored, not dropped
  });

  it('Pi 4: all clear, rpi_volt alarm found by hwmon name', async () => {
    const { ctx } = collectorContext({ rootDir: hostTree('pi4') });
    expect(await createPiHealth(ctx).collect()).toEqual({ ...ALL_CLEAR, hwmonLcritAlarm: 0, model: 'Raspberry Pi 4 Model B Rev 1.2', revision: 'c03111', serial: '10000000a43957f6' });
  });

  it('Pi 5: all clear, no rpi_volt hwmon', async () => {
    const { ctx } = collectorContext({ rootDir: hostTree('pi5') });
    expect(await createPiHealth(ctx).collect()).toEqual({ ...ALL_CLEAR, model: 'Raspberry Pi 5 Model B Rev 1.0', revision: 'd04170', serial: '48343bbbe3ae743b' });
  });

  it('not a Pi: NoDataError every cycle, logged once at debug, nothing louder', async () => {
    const { ctx, lines } = collectorContext({ rootDir: hostTree('non-pi') });
    const c = createPiHealth(ctx);
    for (let i = 0; i < 3; i++) await expect(c.collect()).rejects.toBeInstanceOf(NoDataError);
    expect(lines.filter((e) => e.msg === 'not a Raspberry Pi: no piHealth')).toHaveLength(1);
    expect(lines.filter((e) => e.level > 20)).toEqual([]);
  });

  it('this machine (not a Pi) gives NoDataError too', async () => {
    const { ctx } = collectorContext();
    await expect(createPiHealth(ctx).collect()).rejects.toBeInstanceOf(NoDataError);
  });
});
