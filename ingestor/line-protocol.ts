// InfluxDB line protocol, built with plain templates (about twice as fast as the client's
// Point and byte-identical to it: same escaping, tags and fields sorted by key).
//   measurement: escape comma, space (and \n \r \t as the client does)
//   tag keys, tag values, field keys: escape comma, equals sign, space (and \n \r \t)
//   string field values: double-quoted, escape double quote and backslash
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
import type { FieldKind } from '../common/schema.js';

function escaper(chars: string, replacements: readonly string[]): (s: string) => string {
  const re = new RegExp(`[${chars.replace(/[\\\]^-]/g, '\\$&')}]`, 'g');
  const test = new RegExp(re.source);
  const map = new Map([...chars].map((c, i) => [c, replacements[i]!]));
  return (s) => (test.test(s) ? s.replace(re, (c) => map.get(c)!) : s);
}

export const escapeMeasurement = escaper(', \n\r\t', ['\\,', '\\ ', '\\n', '\\r', '\\t']);
/** Tag keys, tag values and field keys. */
export const escapeKey = escaper(', =\n\r\t', ['\\,', '\\ ', '\\=', '\\n', '\\r', '\\t']);
/**
 * InfluxDB 1.x cannot store a backslash that ends a tag value or stands before a comma,
 * space or equals sign (measured on 1.6: "invalid tag format", or an extra backslash kept);
 * elsewhere a backslash is literal. Such a backslash is written as U+2216 SET MINUS, which
 * looks alike, so the line always parses. String fields (mountPoint, ...) keep it exactly.
 */
export const escapeTagValue = (v: string): string => escapeKey(v.includes('\\') ? v.replace(/\\(?=[, =]|$)/g, '\u2216') : v);
const escapeStringValue = escaper('"\\', ['\\"', '\\\\']);

export const quoteString = (s: string) => `"${escapeStringValue(s)}"`;

/**
 * One field value in line protocol, typed by the schema: integers always end in `i`,
 * floats never do (`1` is a float in line protocol, so an integral float stays a float).
 * Callers validate first: the value must be finite, and a safe integer for 'int'.
 */
export function formatValue(kind: FieldKind, value: number | string): string {
  switch (kind) {
    case 'int':
      return `${value as number}i`;
    case 'float':
      return String(value as number);
    case 'string':
      return quoteString(value as string);
  }
}

/** A tag: key already escaped (escapeKey; keys come from the schema), raw value. */
export type TagPair = readonly [escapedKey: string, value: string];
/** A field: key already escaped, value already formatted (formatValue). */
export type FieldPair = readonly [escapedKey: string, formatted: string];

/**
 * One line. `tags` and `fields` must come in key order (the schema fixes that order once);
 * tags with an empty value are left out, as InfluxDB refuses them. Returns undefined for a
 * point without fields, which InfluxDB refuses too.
 */
export function formatLine(escapedMeasurement: string, tags: readonly TagPair[], fields: readonly FieldPair[], timeMs: number): string | undefined {
  if (fields.length === 0) return undefined;
  let line = escapedMeasurement;
  for (const [k, v] of tags) if (v) line += `,${k}=${escapeTagValue(v)}`;
  line += ' ';
  for (let i = 0; i < fields.length; i++) {
    const [k, v] = fields[i]!;
    line += i ? `,${k}=${v}` : `${k}=${v}`;
  }
  return `${line} ${timeMs}`;
}
