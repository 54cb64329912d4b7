import { describe, expect, it } from 'vitest';
import { levelToDbm, parseWireless } from '../../../../agent/parse/wireless.js';
import { hostFile, output } from '../../../../testkit/fixtures.js';

describe('parseWireless', () => {
  it('brcmfmac on a Pi 5: link 58, level -52 dBm, noise -256 (none)', () => {
    expect(parseWireless(hostFile('pi5/proc/net/wireless'))).toEqual([{ interface: 'wlan0', linkQuality: 58, signalDbm: -52 }]);
  });

  it('brcmfmac with a non-zero retry counter: the same columns', () => {
    expect(parseWireless(output('proc-net-wireless-brcmfmac-retry37.txt'))).toEqual([{ interface: 'wlan0', linkQuality: 52, signalDbm: -58 }]);
  });

  it('a USB dongle on a Pi 1 with a positive relative level: no dBm, no noise, the reason given', () => {
    const [w] = parseWireless(output('proc-net-wireless-pi1-usb-wifi-positive-level'));
    expect(w).toMatchObject({ interface: 'wlan0', linkQuality: 100 });
    expect(w!.signalDbm).toBeUndefined();
    expect(w!.noiseDbm).toBeUndefined();
    expect(w!.levelNotDbm).toMatch(/77/);
  });

  it('normalises a dBm level printed as an unsigned byte, keeps negatives, refuses relative scales', () => {
    expect(levelToDbm(-52)).toBe(-52);
    expect(levelToDbm(204)).toBe(-52);
    expect(levelToDbm(255)).toBe(-1);
    expect(levelToDbm(77)).toBeUndefined();
    expect(levelToDbm(0)).toBeUndefined();
    expect(levelToDbm(-300)).toBeUndefined();
  });

  it('ignores the header lines and garbage', () => {
    expect(parseWireless('')).toEqual([]);
    expect(parseWireless('Inter-| sta-|\n face | tus |\nnot a line\n wlan0: zz\n')).toEqual([]);
  });
});
