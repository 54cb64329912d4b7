import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeviceTreeModel, parseThrottled } from '../../../../agent/parse/pi.js';
import { hostTree } from '../../../../testkit/fixtures.js';

const ALL_CLEAR = {
  throttledRaw: 0, underVoltageNow: 0, freqCappedNow: 0, throttledNow: 0, softTempLimitNow: 0,
  underVoltageSinceBoot: 0, freqCappedSinceBoot: 0, throttledSinceBoot: 0, softTempLimitSinceBoot: 0,
};

describe('get_throttled parser', () => {
  it('reads the sysfs form (hex without 0x): 80008 = soft temperature limit now and since boot', () => {
    const text = readFileSync(path.join(hostTree('pi3'), 'sys/devices/platform/soc/soc:firmware/get_throttled'), 'utf8');
    expect(parseThrottled(text)).toEqual({ ...ALL_CLEAR, throttledRaw: 0x80008, softTempLimitNow: 1, softTempLimitSinceBoot: 1 });
  });
  it('matches the documented example and the vcgencmd/dmesg forms', () => {
    // get_throttled-bits.md: 0x50000 = under-voltage and throttling have occurred, nothing now.
    expect(parseThrottled('50000\n')).toEqual({ ...ALL_CLEAR, throttledRaw: 0x50000, underVoltageSinceBoot: 1, throttledSinceBoot: 1 });
    expect(parseThrottled('throttled=0x50005')).toEqual({ ...ALL_CLEAR, throttledRaw: 0x50005, underVoltageNow: 1, throttledNow: 1, underVoltageSinceBoot: 1, throttledSinceBoot: 1 });
    expect(parseThrottled('0x00050005')?.throttledRaw).toBe(0x50005);
    expect(parseThrottled('0\n')).toEqual(ALL_CLEAR);
    expect(parseThrottled('')).toBeUndefined();
    expect(parseThrottled('nope')).toBeUndefined();
  });
  it('strips the NUL of /proc/device-tree/model', () => {
    expect(parseDeviceTreeModel('Raspberry Pi 5 Model B Rev 1.0\0')).toBe('Raspberry Pi 5 Model B Rev 1.0');
    expect(parseDeviceTreeModel('\0')).toBeUndefined();
  });
});
