// /proc/net/wireless: two header lines, then per interface the kernel's
//   "%6s: %04x  %3d%c  %3d%c  %3d%c  %6d %6d %6d %6d %6d   %6d"
// (net/wireless/wext-proc.c): status, link quality, level, noise (each followed by '.' when the
// driver updated it, else a space), then discarded packets and missed beacons.

export interface WirelessStats {
  readonly interface: string;
  readonly linkQuality?: number;
  readonly signalDbm?: number;
  readonly noiseDbm?: number;
  /** Why the level is not given in dBm, when it is not. */
  readonly levelNotDbm?: string;
}

const LINE_RE = /^\s*([^\s:]+):\s+[0-9a-f]{4}\s+(-?\d+)[. ]?\s+(-?\d+)[. ]?\s+(-?\d+)[. ]?\s/;

/**
 * A level as dBm. The kernel prints the driver's 8-bit level minus 256 when the driver flags it
 * as dBm (brcmfmac: "-52."); drivers that forget the flag print the same byte unsigned (e.g.
 * 204 for -52 dBm), which system_sensors#185 met as positive values. A level in 1..100 (a USB
 * dongle's "77.", its link "100.") is a relative scale, not dBm: undefined.
 */
export function levelToDbm(level: number): number | undefined {
  if (level < 0 && level >= -200) return level;
  if (level >= 101 && level <= 255) return level - 256;
  return undefined;
}

export function parseWireless(text: string): WirelessStats[] {
  const out: WirelessStats[] = [];
  for (const line of text.split('\n').slice(2)) {
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const [, name, link, level, noise] = m;
    const lv = Number(level);
    const nz = Number(noise);
    const signalDbm = levelToDbm(lv);
    // -256: the driver gives no noise figure (brcmfmac); 0 with a relative level: none either.
    const noiseDbm = nz === -256 || nz === 0 ? undefined : levelToDbm(nz);
    out.push({
      interface: name!,
      linkQuality: Number(link),
      ...(signalDbm !== undefined ? { signalDbm } : { levelNotDbm: `level ${lv} is not in dBm (a relative scale)` }),
      ...(noiseDbm !== undefined ? { noiseDbm } : {}),
    });
  }
  return out;
}
