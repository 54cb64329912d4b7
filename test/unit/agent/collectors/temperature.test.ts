import { describe, expect, it } from 'vitest';
import { createTemperature, MOCK_BASE_CELSIUS, MOCK_SPREAD_CELSIUS } from '../../../../agent/collectors/temperature.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, hostTree } from '../../../../testkit/fixtures.js';

const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

describe('temperature collector on fixture trees', () => {
  it('reports every real sensor of every source, one row each, skipping bad ones (logged once)', async () => {
    const { ctx, lines } = collectorContext({ temperature: { sysfsRoot: hostTree('pi3') } });
    const c = createTemperature(ctx);
    const first = await c.collect();
    expect(first.rows).toEqual([
      { sensor: '28-000006c5aefc', source: 'w1', degreesCelsius: 20.687 },
      { sensor: 'thermal_zone0:cpu-thermal', source: 'thermal', degreesCelsius: 46.698 },
    ]);
    await c.collect();
    await c.collect();
    const skipped = lines.filter((e) => e.msg === '1-Wire reading is not a temperature, skipped');
    expect(skipped.map((e) => e.sensor).sort()).toEqual(['28-000000000002', '3b-00000014fe14']);
    expect(skipped.every((e) => e.level === 40)).toBe(true);
    // The reading is a valid Temperature message.
    const decoded = decodeMetric('temperature', encodeMetric('temperature', { header, ...first }));
    expect(decoded.rows).toHaveLength(2);
  });

  it('follows the configured source order', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('pi3'), sources: ['thermal', 'w1'] } });
    const { rows } = await createTemperature(ctx).collect();
    expect(rows!.map((r) => r.source)).toEqual(['thermal', 'w1']);
  });

  it('reads several sensors (w1_slave and temperature files)', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('w1-several') } });
    const { rows } = await createTemperature(ctx).collect();
    expect(rows).toEqual([
      { sensor: '28-000006c5aefc', source: 'w1', degreesCelsius: 20.687 },
      { sensor: '28-011319dd865d', source: 'w1', degreesCelsius: 24.25 },
      { sensor: '28-011319e04763', source: 'w1', degreesCelsius: 23.75 },
    ]);
  });

  it('reports several thermal zones in numeric order, a zone without type by its name', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('thermal-two-zones') } });
    const { rows } = await createTemperature(ctx).collect();
    expect(rows).toEqual([
      { sensor: 'thermal_zone0:cpu-thermal', source: 'thermal', degreesCelsius: 46.698 },
      { sensor: 'thermal_zone1', source: 'thermal', degreesCelsius: 35.78 },
    ]);
  });

  it('falls back to the mock only when no real sensor gave a value (bad CRC only), saying so once', async () => {
    const { ctx, messages } = collectorContext({ temperature: { sysfsRoot: hostTree('w1-bad-crc') } });
    const c = createTemperature(ctx);
    for (let i = 0; i < 3; i++) {
      const { rows } = await c.collect();
      expect(rows).toHaveLength(1);
      expect(rows![0]).toMatchObject({ sensor: 'mock', source: 'mock' });
      expect(rows![0]!.degreesCelsius).toBeGreaterThanOrEqual(MOCK_BASE_CELSIUS);
      expect(rows![0]!.degreesCelsius).toBeLessThan(MOCK_BASE_CELSIUS + MOCK_SPREAD_CELSIUS);
    }
    expect(messages('no real temperature sensor gave a value: reporting the mock')).toHaveLength(1);
    expect(messages('1-Wire reading is not a temperature, skipped')).toHaveLength(1);
  });

  it('has nothing to report without sensors when the mock is not configured (no w1 directory at all)', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('non-pi'), sources: ['w1', 'thermal'] } });
    await expect(createTemperature(ctx).collect()).rejects.toBeInstanceOf(NoDataError);
  });

  it('uses the mock on a machine with no sensor at all', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('non-pi') } });
    const { rows } = await createTemperature(ctx).collect();
    expect(rows).toEqual([{ sensor: 'mock', source: 'mock', degreesCelsius: expect.any(Number) }]);
  });

  it('skips a reset-value-only sensor without mock (NoDataError)', async () => {
    const { ctx } = collectorContext({ temperature: { sysfsRoot: hostTree('w1-reset'), sources: ['w1'] } });
    await expect(createTemperature(ctx).collect()).rejects.toBeInstanceOf(NoDataError);
  });
});
