import { describe, expect, it } from 'vitest';
import { reconcile, sampledFromLog, sumTotals, type SampledReading, type StoredReading } from './ledger.js';

const T = 1_800_000_000_000;
const s = (host: string, seq: number, metric: string, t: number): SampledReading => ({ host, seq, metric, sampleTimeMs: t });
const p = (host: string, measurement: string, t: number, rows = 1): StoredReading => ({ host, measurement, timeMs: t, rows });

describe('fault ledger', () => {
  it('counts a reading stored when its host has points in its measurement at its sample time', () => {
    const sampled = [s('a', 1, 'cpu', T), s('a', 2, 'mem', T), s('a', 3, 'networkMetrics', T + 1000), s('b', 1, 'cpu', T)];
    const stored = [p('a', 'Cpu', T), p('a', 'Mem', T), p('a', 'NetworkMetrics', T + 1000, 3), p('b', 'Cpu', T)];
    expect(reconcile(sampled, stored).map(({ host, sampled, stored, duplicates, lost }) => ({ host, sampled, stored, duplicates, lost }))).toEqual([
      { host: 'a', sampled: 3, stored: 3, duplicates: 0, lost: 0 },
      { host: 'b', sampled: 1, stored: 1, duplicates: 0, lost: 0 },
    ]);
  });

  it('reports missing readings as lost unless the stopped agent still holds them', () => {
    const sampled = [s('a', 1, 'cpu', T), s('a', 2, 'cpu', T + 1000), s('a', 3, 'cpu', T + 2000)];
    const [r] = reconcile(sampled, [p('a', 'Cpu', T)], { held: new Map([['a', new Set([3])]]) });
    expect(r).toMatchObject({ sampled: 3, stored: 1, lost: 1, held: 1, lostSeqs: [2] });
  });

  it('a point of the wrong host or measurement does not count', () => {
    const [a, b] = reconcile([s('a', 1, 'cpu', T)], [p('b', 'Cpu', T), p('a', 'Mem', T)]);
    expect(a).toMatchObject({ host: 'a', stored: 0, lost: 1, duplicates: 1 });
    expect(b).toMatchObject({ host: 'b', sampled: 0, duplicates: 1 });
  });

  it('two readings of one metric at one time are one point: the second is lost', () => {
    const [r] = reconcile([s('a', 1, 'cpu', T), s('a', 2, 'cpu', T)], [p('a', 'Cpu', T)]);
    expect(r).toMatchObject({ sampled: 2, stored: 1, lost: 1, lostSeqs: [2] });
  });

  it('a seq logged twice (log lines of a replay) counts once', () => {
    const [r] = reconcile([s('a', 7, 'cpu', T), s('a', 7, 'cpu', T)], [p('a', 'Cpu', T)]);
    expect(r).toMatchObject({ sampled: 1, stored: 1, lost: 0 });
  });

  it('an unexplained stored reading just before a kill -9 of that agent is a reading whose log line died with it', () => {
    const kill = T + 10_000;
    const stored = [p('a', 'Cpu', T), p('a', 'Mem', kill - 50), p('a', 'Mem', kill + 50), p('a', 'Mem', T - 60_000)];
    const [r] = reconcile([s('a', 1, 'cpu', T)], stored, { kills: new Map([['a', [kill]]]) });
    expect(r).toMatchObject({ sampled: 2, stored: 2, unlogged: 1, duplicates: 2 });
    expect(r!.duplicateExamples).toHaveLength(2);
  });

  it('sums hosts', () => {
    const rows = reconcile([s('a', 1, 'cpu', T), s('b', 1, 'cpu', T)], [p('a', 'Cpu', T)]);
    expect(sumTotals(rows)).toEqual({ sampled: 2, stored: 1, duplicates: 0, lost: 1, held: 0, unlogged: 0 });
  });

  it('reads the agent debug lines, skipping other lines and a line cut short', () => {
    const lines = [
      '{"level":20,"msg":"reading recorded","seq":5,"metric":"cpu","sampleTimeMs":1800000000000}',
      '{"level":30,"msg":"connected to broker"}',
      '{"level":20,"msg":"reading recorded","seq":6,"metric":"mem","sampl',
      'not json "reading recorded"',
    ];
    expect(sampledFromLog('a', lines)).toEqual([s('a', 5, 'cpu', T)]);
  });

  it('refuses an unknown metric name', () => {
    expect(() => reconcile([s('a', 1, 'nope', T)], [])).toThrow(/"nope" is not a metric name/);
  });
});
