// 1-Wire temperature sensor files (w1_therm driver): w1_slave (two lines: "... : crc=e1 YES"
// and "... t=20687") or temperature (millidegrees).

/** w1_therm families: DS18S20 (10), DS1822 (22), DS18B20 (28), DS1825 (3b), DS28EA00 (42). */
export const W1_THERM_FAMILIES = ['10', '22', '28', '3b', '42'];

/** The DS18x20 power-on reset value: the sensor answered without converting. */
export const W1_RESET_MILLIDEGREES = 85_000;

export type W1Result =
  | { ok: true; celsius: number }
  | { ok: false; reason: 'crc' | 'reset' | 'malformed'; detail: string };

/** Parses the text of a w1_slave file. */
export function parseW1Slave(text: string): W1Result {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) return { ok: false, reason: 'malformed', detail: `expected two lines, got ${lines.length}` };
  const crc = /crc=([0-9a-f]{2})\s+(YES|NO)$/i.exec(lines[0]!);
  if (!crc) return { ok: false, reason: 'malformed', detail: 'first line has no "crc=.. YES|NO"' };
  if (crc[2]!.toUpperCase() !== 'YES') return { ok: false, reason: 'crc', detail: `CRC check failed (crc=${crc[1]} ${crc[2]})` };
  const t = /t=(-?\d+)$/.exec(lines[1]!);
  if (!t) return { ok: false, reason: 'malformed', detail: 'second line has no "t=<millidegrees>"' };
  return fromMillidegrees(Number(t[1]));
}

/** Parses the text of a w1_therm `temperature` file (millidegrees). */
export function parseW1Temperature(text: string): W1Result {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return { ok: false, reason: 'malformed', detail: `not an integer: ${JSON.stringify(t.slice(0, 40))}` };
  return fromMillidegrees(Number(t));
}

function fromMillidegrees(milli: number): W1Result {
  if (milli === W1_RESET_MILLIDEGREES) return { ok: false, reason: 'reset', detail: 'power-on reset value 85000 (no conversion happened)' };
  return { ok: true, celsius: milli / 1000 };
}
