// sysfs attribute values: one integer or hex number and a newline.

/** Parses a sysfs integer attribute ("46698\n"); undefined when it is not one. */
export function parseSysInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a sysfs hex attribute ("0x1003\n", as /sys/class/net/<if>/flags). */
export function parseSysHex(text: string | undefined): number | undefined {
  const m = /^(?:0x)?([0-9a-f]+)$/i.exec(text?.trim() ?? '');
  return m ? parseInt(m[1]!, 16) : undefined;
}
