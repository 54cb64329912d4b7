// Line protocol: our template against the client's own Point (byte for byte), against the
// escaping rules of the line protocol reference, and against a real influxd's parser.
import { Point } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../common/schema.js';
import { escapeKey, escapeMeasurement, formatLine, formatValue, quoteString } from '../../../ingestor/line-protocol.js';
import { UNIT_RANGES } from '../../../ingestor/validate.js';

const NASTY = ['plain', 'with space', 'comma,here', 'equals=sign', 'quote"d', 'back\\slash', 'new\nline', 'tab\tand\rcr', 'ünïcødé ☃', 'trailing ', ' leading', 'a,b=c d'];

describe('line protocol escaping', () => {
  it('escapes measurement, tag keys/values, field keys and string values per the spec', () => {
    expect(escapeMeasurement('my measure,ment=1')).toBe('my\\ measure\\,ment=1');
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(quoteString('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(quoteString('a,b=c d')).toBe('"a,b=c d"');
  });

  it('writes a backslash that 1.x cannot parse in a tag value as U+2216', () => {
    expect(formatLine('m', [['t', 'a\\']], [['f', '1i']], 1)).toBe('m,t=a\u2216 f=1i 1');
    expect(formatLine('m', [['t', 'a\\,b\\x']], [['f', '1i']], 1)).toBe('m,t=a\u2216\\,b\\x f=1i 1');
  });

  it('types values by the schema: ints end in i, integral floats stay floats', () => {
    expect(formatValue('int', 42)).toBe('42i');
    expect(formatValue('int', -5)).toBe('-5i');
    expect(formatValue('float', 1)).toBe('1');
    expect(formatValue('float', 0.1)).toBe('0.1');
    expect(formatValue('float', 1e21)).toBe('1e+21');
    expect(formatValue('string', '')).toBe('""');
  });

  it('leaves out empty tag values and points without fields', () => {
    expect(formatLine('m', [['a', ''], ['b', 'x']], [['f', '1i']], 5)).toBe('m,b=x f=1i 5');
    expect(formatLine('m', [['a', 'x']], [], 5)).toBeUndefined();
  });

  it.each(NASTY)('is byte-identical to the client Point for %j', (s) => {
    const point = new Point(s).tag(s, s).tag('zz', 'v').stringField(s, s).intField('n', 7).floatField('f', 2).timestamp(1700000000000);
    const expected = point.toLineProtocol({ convertTime: (t) => String(t) });
    const tags = [[escapeKey(s), s], ['zz', 'v']] as [string, string][];
    const fields = [[escapeKey(s), quoteString(s)], ['f', formatValue('float', 2)], ['n', formatValue('int', 7)]] as [string, string][];
    const sortKey = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    // The plan sorts by raw key; the client by raw key too: sort both by the raw name.
    const raw = (k: string) => (k === escapeKey(s) ? s : k);
    tags.sort((a, b) => sortKey([raw(a[0]), ''], [raw(b[0]), '']));
    fields.sort((a, b) => sortKey([raw(a[0]), ''], [raw(b[0]), '']));
    expect(formatLine(escapeMeasurement(s), tags, fields, 1700000000000)).toBe(expected);
  });
});

describe('units', () => {
  it('every unit of the schema has a range', () => {
    const units = new Set([...METRICS.values()].flatMap((m) => m.fields.map((f) => f.unit)));
    expect([...units].filter((u) => !(u in UNIT_RANGES))).toEqual([]);
  });
});
