// The status line of `machmon up` on a terminal, from counters and fleet rows.
import { describe, expect, it } from 'vitest';
import { influxState, statusLine, upLogConfig, type Counters } from '../../../cli/up-screen.js';
import type { HostRow } from '../../../cli/top-model.js';

const c = (atMs: number, o: Partial<Counters> = {}): Counters => ({ atMs, received: 0, written: 0, rejected: 0, writeFailures: 0, pending: 0, ...o });
const host = (name: string, online: boolean, outboxMessages?: number) => ({ host: name, online, outboxMessages }) as HostRow;

describe('machmon up screen', () => {
  it('sends the JSON log to ./data/machmon.log on a terminal unless log.file is set; off a terminal nothing changes', () => {
    expect(upLogConfig({ level: 'info', file: null }, true)).toEqual({ level: 'info', file: './data/machmon.log' });
    expect(upLogConfig({ level: 'info', file: '/var/log/m.log' }, true).file).toBe('/var/log/m.log');
    expect(upLogConfig({ level: 'info', file: null }, false).file).toBeNull();
  });

  it('InfluxDB is unreachable when writes failed and none stored, ok when some stored, unchanged without traffic', () => {
    expect(influxState(c(0), c(5000, { writeFailures: 3, pending: 40 }), 'InfluxDB ok')).toBe('InfluxDB unreachable (40 waiting)');
    expect(influxState(c(0, { written: 5 }), c(5000, { written: 9 }), 'x')).toBe('InfluxDB ok');
    expect(influxState(c(0), c(5000), 'InfluxDB ok')).toBe('InfluxDB ok');
  });

  it('says hosts online, readings per second received and stored, rejected, InfluxDB and the largest outbox', () => {
    const line = statusLine(c(0, { received: 10, written: 10 }), c(5000, { received: 60, written: 35, rejected: 2 }), 'InfluxDB ok', [host('a', true, 3), host('b', false, 250), host('c', true)]);
    expect(line).toMatch(/^\d\d:\d\d:\d\d {2}2\/3 hosts online {2}readings\/s 10\.0 received, 5\.0 stored {2}2 rejected {2}InfluxDB ok {2}largest outbox 250 \(b\)$/);
    expect(statusLine(c(0), c(5000), 'InfluxDB ok', [])).toContain('0/0 hosts online');
  });
});
