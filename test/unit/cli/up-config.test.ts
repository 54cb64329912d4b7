// Which InfluxDB `machmon up` writes to: the configured one, else the address of its own
// (http://127.0.0.1:<influxd.port>), and whether it may start one (README "The two commands").
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUpConfig } from '../../../cli/up.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'machmon-up-config-'));
const configFile = (content: object) => {
  const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(content));
  return f;
};
const base = { broker: { secretPassword: 'pw', readerPassword: 'reader-pw' } };

describe('loadUpConfig: the InfluxDB of up', () => {
  it('without ingestor.influx.url: its own influxd on 127.0.0.1:8086, the other influx keys kept', () => {
    const c = loadUpConfig(configFile({ ...base, ingestor: { influx: { database: 'db1' } } }), {});
    expect(c.ingestor!.influx.url).toBe('http://127.0.0.1:8086');
    expect(c.ingestor!.influx.database).toBe('db1');
    expect(c.influxUrlConfigured).toBe(false);
    expect(c.influxd).toEqual({ start: 'auto', port: 8086, dataDir: './data/influxdb', logFile: './data/influxd.log' });
  });

  it('influxd.port (file or MACHMON_INFLUXD_PORT) moves the ingestor with it', () => {
    expect(loadUpConfig(configFile({ ...base, influxd: { port: 18086 } }), {}).ingestor!.influx.url).toBe('http://127.0.0.1:18086');
    expect(loadUpConfig(configFile(base), { MACHMON_INFLUXD_PORT: '28086' }).ingestor!.influx.url).toBe('http://127.0.0.1:28086');
  });

  it('a configured URL, in the file or the environment, is used as it is and marked configured', () => {
    const inFile = loadUpConfig(configFile({ ...base, ingestor: { influx: { url: 'http://127.0.0.1:8086' } } }), {});
    expect(inFile.influxUrlConfigured).toBe(true);
    const inEnv = loadUpConfig(configFile(base), { MACHMON_INGESTOR_INFLUX_URL: 'http://db.example:8086', MACHMON_INFLUXD_PORT: '9999' });
    expect(inEnv.ingestor!.influx.url).toBe('http://db.example:8086');
    expect(inEnv.influxUrlConfigured).toBe(true);
  });

  it('a bad influxd key is refused naming it', () => {
    expect(() => loadUpConfig(configFile({ ...base, influxd: { port: 'high' } }), {})).toThrow(/influxd\.port/);
    expect(() => loadUpConfig(configFile({ ...base, influxd: { start: 'always' } }), {})).toThrow(/influxd\.start/);
    expect(() => loadUpConfig(configFile({ ...base, influxd: { extra: 1 } }), {})).toThrow(/influxd\.extra: unknown key/);
  });
});
