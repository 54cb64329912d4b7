import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseW1Slave, parseW1Temperature } from '../../../../agent/parse/w1.js';
import { hostTree } from '../../../../testkit/fixtures.js';

const w1File = (tree: string, dev: string) => readFileSync(path.join(hostTree(tree), 'sys/bus/w1/devices', dev, 'w1_slave'), 'utf8');

describe('w1_slave parser (recorded files)', () => {
  it('reads a good CRC as millidegrees / 1000', () => {
    expect(parseW1Slave(w1File('w1-good', '28-000006c5aefc'))).toEqual({ ok: true, celsius: 20.687 });
  });
  it('refuses a bad CRC even though it has a t= value', () => {
    expect(parseW1Slave(w1File('w1-bad-crc', '28-000000000002'))).toMatchObject({ ok: false, reason: 'crc' });
  });
  it('refuses the 85000 power-on reset value despite a good CRC', () => {
    expect(parseW1Slave(w1File('w1-reset', '3b-00000014fe14'))).toMatchObject({ ok: false, reason: 'reset' });
  });
  it('refuses truncated and garbled text', () => {
    expect(parseW1Slave('4b 01 4b 46 7f ff 05 10 e1 : crc=e1 YES\n')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseW1Slave('')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseW1Temperature('24250\n')).toEqual({ ok: true, celsius: 24.25 });
    expect(parseW1Temperature('-1250\n')).toEqual({ ok: true, celsius: -1.25 });
    expect(parseW1Temperature('85000\n')).toMatchObject({ ok: false, reason: 'reset' });
    expect(parseW1Temperature('xx')).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
