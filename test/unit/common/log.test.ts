// The short terminal form of a log line (machmon up on a terminal: errors on screen, details in the file).
import { describe, expect, it } from 'vitest';
import { briefLine } from '../../../common/log.js';

describe('briefLine', () => {
  it('gives time, level, message and the error message with its code, without the stack', () => {
    const line = briefLine(JSON.stringify({ level: 60, time: Date.UTC(2026, 0, 1, 12, 0, 5), msg: 'up failed to start', err: { message: 'port taken', code: 'INFLUXD_FAILED', stack: 'Error: port taken\n    at x' } }));
    expect(line).toMatch(/^\d\d:\d\d:\d\d FATAL up failed to start: port taken \[INFLUXD_FAILED\]\n$/);
    expect(line).not.toContain('at x');
  });

  it('passes a line that is not JSON through', () => {
    expect(briefLine('plain\n')).toBe('plain\n');
    expect(briefLine(JSON.stringify({ level: 50, time: 0, msg: 'influxd exited' }))).toMatch(/ERROR influxd exited\n$/);
  });
});
