import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTemperature } from '../../../../agent/collectors/temperature.js';
import { listGpioChips, mapBcmPin, type GpioChip } from '../../../../agent/read/gpio.js';
import { collectorContext, hostTree } from '../../../../testkit/fixtures.js';


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
