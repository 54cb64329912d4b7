// GPIO pin input through `onoff` (optional). Two parts:
// 1. BCM pin -> sysfs GPIO number. Since Linux 6.6 sysfs numbers are offset by the chip's
//    dynamically allocated base (Pi 4: 512 + n; Pi 5 with bookworm 6.6 before 6.6.45: RP1 at 571 + n),
//    so the header's chip is found by its label in /sys/class/gpio/gpiochip*/{base,label,ngpio}.
// 2. Lazy loading of onoff, whose native `epoll` module is often not built (npm does not run
//    install scripts everywhere): the agent works without it and says once why GPIO is off.
import path from 'node:path';
import { parseSysInt } from '../parse/sysfs.js';
import { listDir, readText } from './kernel-files.js';

/** Labels of the chip that drives the 40-pin header, most specific first (Pi 5, Pi 4, Pi 0-3). */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2712', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export interface GpioChip {
  /** Directory name, e.g. gpiochip512. */
  name: string;
  base: number;
  label: string;
  ngpio: number;
}

export async function listGpioChips(gpioClass: string): Promise<GpioChip[]> {
  const names = (await listDir(gpioClass)).filter((n) => /^gpiochip\d+$/.test(n));
  const chips = await Promise.all(
    names.map(async (name): Promise<GpioChip | undefined> => {
      const dir = path.join(gpioClass, name);
      const [base, label, ngpio] = await Promise.all([readText(path.join(dir, 'base')), readText(path.join(dir, 'label')), readText(path.join(dir, 'ngpio'))]);
      const b = parseSysInt(base);
      const n = parseSysInt(ngpio);
      if (b === undefined || n === undefined || label === undefined) return undefined;
      return { name, base: b, label: label.trim(), ngpio: n };
    }),
  );
  return chips.filter((c): c is GpioChip => c !== undefined).sort((a, b) => a.base - b.base);
}

export type PinMapping = { ok: true; sysfsNumber: number; chip: GpioChip } | { ok: false; reason: string };

/** Maps a BCM (header) pin to its sysfs GPIO number through the header chip's base. */
export function mapBcmPin(chips: readonly GpioChip[], pin: number): PinMapping {
  if (chips.length === 0) return { ok: false, reason: 'no gpiochip under /sys/class/gpio (GPIO sysfs interface absent)' };
  for (const label of HEADER_CHIP_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (!chip) continue;
    if (pin >= chip.ngpio) return { ok: false, reason: `pin ${pin} is beyond ${chip.label}'s ${chip.ngpio} lines` };
    return { ok: true, sysfsNumber: chip.base + pin, chip };
  }
  return { ok: false, reason: `no header GPIO chip (labels ${HEADER_CHIP_LABELS.join(', ')}) among ${chips.map((c) => `${c.name} [${c.label}]`).join(', ')}` };
}

/** What the agent needs from onoff's Gpio: one input pin. */
export interface GpioInput {
  /** 0 or 1 (after active-low inversion). */
  read(): number;
  close(): void;
}

export type GpioOpen = { ok: true; input: GpioInput } | { ok: false; reason: string };

/**
 * Loads onoff lazily and opens the pin as an input. Never throws: a missing native module,
 * a kernel without /sys/class/gpio or a busy pin comes back as a reason.
 */
export async function openGpioInput(sysfsNumber: number, activeLow: boolean): Promise<GpioOpen> {
  let onoff: typeof import('onoff');
  try {
    onoff = await import('onoff');
  } catch (err) {
    return { ok: false, reason: `the onoff module does not load (${(err as Error).message.split('\n')[0]})` };
  }
  const Gpio = onoff.Gpio ?? (onoff as unknown as { default: typeof import('onoff') }).default?.Gpio;
  if (!Gpio) return { ok: false, reason: 'the onoff module has no Gpio export' };
  if (!Gpio.accessible) return { ok: false, reason: 'onoff loaded but /sys/class/gpio is not accessible (no GPIO sysfs interface or no permission)' };
  try {
    const gpio = new Gpio(sysfsNumber, 'in', 'none', { activeLow });
    return {
      ok: true,
      input: {
        read: () => gpio.readSync(),
        close: () => gpio.unexport(),
      },
    };
  } catch (err) {
    return { ok: false, reason: `cannot open GPIO ${sysfsNumber} through onoff (${(err as Error).message})` };
  }
}
