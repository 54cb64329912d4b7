// Raspberry Pi health from sysfs (never vcgencmd, which spawns and needs the video group).

/** Relative to /sys: the firmware's throttling word, lowercase hex without 0x ("80008\n"). */
export const GET_THROTTLED = ['devices', 'platform', 'soc', 'soc:firmware', 'get_throttled'] as const;

export interface ThrottledFlags {
  throttledRaw: number;
  underVoltageNow: number;
  freqCappedNow: number;
  throttledNow: number;
  softTempLimitNow: number;
  underVoltageSinceBoot: number;
  freqCappedSinceBoot: number;
  throttledSinceBoot: number;
  softTempLimitSinceBoot: number;
}

/** Parses get_throttled ("80008", also tolerates "0x80008" and "throttled=0x50005"). Undefined when not hex. */
export function parseThrottled(text: string): ThrottledFlags | undefined {
  const m = /^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i.exec(text.trim());
  if (!m) return undefined;
  const raw = parseInt(m[1]!, 16);
  const bit = (n: number) => ((raw >>> n) & 1);
  return {
    throttledRaw: raw,
    underVoltageNow: bit(0),
    freqCappedNow: bit(1),
    throttledNow: bit(2),
    softTempLimitNow: bit(3),
    underVoltageSinceBoot: bit(16),
    freqCappedSinceBoot: bit(17),
    throttledSinceBoot: bit(18),
    softTempLimitSinceBoot: bit(19),
  };
}

/** /proc/device-tree/model is the model string plus one NUL byte. */
export const parseDeviceTreeModel = (text: string): string | undefined => text.replace(/\0/g, '').trim() || undefined;

/** Serial and Revision lines of /proc/cpuinfo ("Revision\t: d04170", "Serial\t\t: 48343bbbe3ae743b"). */
export function parseCpuinfoBoard(text: string): { serial?: string; revision?: string } {
  const out: { serial?: string; revision?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^(Serial|Revision)\s*:\s*(\S+)\s*$/.exec(line);
    if (m) out[m[1] === 'Serial' ? 'serial' : 'revision'] = m[2]!;
  }
  return out;
}

/** /proc/device-tree/serial-number: the serial plus a NUL, like model. */
export const parseDeviceTreeString = parseDeviceTreeModel;
