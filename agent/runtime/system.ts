// The system type of the header ("Raspbian", "Debian", "Ubuntu"...), from os-release.
import fs from 'node:fs';
import type { Paths } from '../read/paths.js';

/** Parses os-release(5) text: KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) v = v.slice(1, -1);
    if (q === '"') v = v.replace(/\\(["$`\\])/g, '$1');
    out[m[1]!] = v;
  }
  return out;
}

/**
 * Short system name: NAME without a trailing "GNU/Linux" or "Linux" ("Raspbian GNU/Linux" ->
 * "Raspbian", "Debian GNU/Linux" -> "Debian", "Fedora Linux" -> "Fedora", "Ubuntu" -> "Ubuntu"),
 * else ID capitalised, else "Linux". Raspberry Pi OS since bookworm ships Debian's os-release;
 * the rpi flag (from /etc/rpi-issue) turns that "Debian" into "Raspbian", the original design's name.
 */
export function systemName(osRelease: Record<string, string>, rpi = false): string {
  const name = (osRelease['NAME'] ?? '').replace(/\s+(GNU\/Linux|Linux)$/i, '').trim();
  const id = osRelease['ID'] ?? '';
  let short = name || (id ? id[0]!.toUpperCase() + id.slice(1) : 'Linux');
  if (rpi && /^debian$/i.test(short)) short = 'Raspbian';
  return short;
}

/** Reads <root>/etc/os-release (then <root>/usr/lib/os-release); "Linux" when neither exists. */
export function detectSystem(paths: Paths): string {
  for (const file of [paths.root('etc', 'os-release'), paths.root('usr', 'lib', 'os-release')]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    return systemName(parseOsRelease(text), fs.existsSync(paths.root('etc', 'rpi-issue')));
  }
  return 'Linux';
}
