import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTemperature, MOCK_BASE_CELSIUS, MOCK_SPREAD_CELSIUS } from '../../../../agent/collectors/temperature.js';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { listGpioChips, mapBcmPin, type GpioChip } from '../../../../agent/read/gpio.js';
import { parseW1Slave, parseW1Temperature } from '../../../../agent/parse/w1.js';
import { decodeMetric, encodeMetric } from '../../../../common/schema.js';
import { collectorContext, hostTree } from '../../../../testkit/fixtures.js';

const w1File = (tree: string, dev: string) => readFileSync(path.join(hostTree(tree), 'sys/bus/w1/devices', dev, 'w1_slave'), 'utf8');
const header = { hostname: 'testhost', system: 'Test', sampleTimeMs: 1, seq: 1, agentVersion: '0' };

describe('w1_slave parser (recorded files)', () => {
  it('reads a good CRC as millidegrees / 1000', () => {
    expect(parseW1Slave(w1File('w1-good', '28-000006c5aefc'))).toEqual({ ok: true, celsius: 20.687 });
  });
  it('refuses a bad CRC even though it has a t= value', () => {
    expect(parseW1Slave(w1File('w1-bad-crc', '28-000000000002'))).toMatchObject({ ok: false, reason: 'crc' });
  });
  it('refuses the 85000 power-on reset value despite a good CRC', () => {
    expect(parseW1Slave(w1File('w1-reset', '3b-00000014fe14'))).toMatchObject({ ok: false, reason: 'reset' });
  });
  it('refuses truncated and garbled text', () => {
    expect(parseW1Slave('4b 01 4b 46 7f ff 05 10 e1 : crc=e1 YES\n')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseW1Slave('')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseW1Temperature('24250\n')).toEqual({ ok: true, celsius: 24.25 });
    expect(parseW1Temperature('-1250\n')).toEqual({ ok: true, celsius: -1.25 });
    expect(parseW1Temperature('85000\n')).toMatchObject({ ok: false, reason: 'reset' });
    expect(parseW1Temperature('xx')).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

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

describe('GPIO pin mapping through the header chip', () => {
  it('Pi 4 on 6.6: pinctrl-bcm2711 at base 512', async () => {
    const chips = await listGpioChips(path.join(hostTree('pi4'), 'sys/class/gpio'));
    expect(chips.map((c) => [c.base, c.label, c.ngpio])).toEqual([[512, 'pinctrl-bcm2711', 58], [570, 'raspberrypi-exp-gpio', 8]]);
    expect(mapBcmPin(chips, 17)).toMatchObject({ ok: true, sysfsNumber: 529 });
    expect(mapBcmPin(chips, 58)).toMatchObject({ ok: false });
  });
  it('Pi 5 on bookworm 6.6 before 6.6.45: pinctrl-rp1 at 571 behind four brcmstb chips', async () => {
    const chips = await listGpioChips(path.join(hostTree('pi5'), 'sys/class/gpio'));
    expect(chips).toHaveLength(5);
    expect(mapBcmPin(chips, 17)).toMatchObject({ ok: true, sysfsNumber: 588, chip: { label: 'pinctrl-rp1' } });
    expect(mapBcmPin(chips, 4)).toMatchObject({ ok: true, sysfsNumber: 575 });
  });
  it('Pi 5 after the renumbering: RP1 first, found by label not by position', async () => {
    const chips = await listGpioChips(path.join(hostTree('pi5-renumbered'), 'sys/class/gpio'));
    expect(mapBcmPin(chips, 17)).toMatchObject({ ok: true, sysfsNumber: 529, chip: { name: 'gpiochip512' } });
  });
  it('older kernels with a static base 0, and machines without GPIO', () => {
    const legacy: GpioChip[] = [{ name: 'gpiochip0', base: 0, label: 'pinctrl-bcm2835', ngpio: 54 }];
    expect(mapBcmPin(legacy, 17)).toMatchObject({ ok: true, sysfsNumber: 17 });
    expect(mapBcmPin([], 17)).toMatchObject({ ok: false, reason: expect.stringContaining('no gpiochip') });
    expect(mapBcmPin([{ name: 'gpiochip0', base: 0, label: 'gpio-mockup-A', ngpio: 8 }], 1)).toMatchObject({ ok: false, reason: expect.stringContaining('gpio-mockup-A') });
  });

  it.skipIf(existsSync('/sys/class/gpio/export'))('turns the GPIO source off, saying why once, where onoff cannot reach /sys/class/gpio', async () => {
    const { ctx, messages } = collectorContext({ temperature: { sysfsRoot: hostTree('pi4'), gpio: { pin: 17 } } });
    const c = createTemperature(ctx);
    for (let i = 0; i < 3; i++) {
      const { rows } = await c.collect();
      expect(rows).toEqual([{ sensor: 'thermal_zone0:cpu-thermal', source: 'thermal', degreesCelsius: 62.322 }]);
    }
    const off = messages('GPIO temperature source off');
    expect(off).toHaveLength(1);
    expect(off[0]).toMatchObject({ pin: 17, sysfsNumber: 529 });
    expect(String(off[0]!.reason)).toMatch(/onoff/);
    await c.close?.();
  });

  it('says once why GPIO is off when the pin cannot be mapped', async () => {
    const { ctx, messages } = collectorContext({ temperature: { sysfsRoot: hostTree('pi3'), gpio: { pin: 4 } } });
    const c = createTemperature(ctx);
    await c.collect();
    await c.collect();
    expect(messages('GPIO temperature source off')).toEqual([expect.objectContaining({ reason: expect.stringContaining('no gpiochip') })]);
  });
});
