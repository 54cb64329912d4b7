// The soak's verdict (README "Scaling", Soak): a least-squares slope per memory series, and
// "flat" when the growth over the window stays within the series' noise bound.
import { describe, expect, it } from 'vitest';
import { AGENT_FLAT_FLOOR_MB, FLAT_FLOOR_MB, flatness, leastSquares } from '../../../bench/soak.js';

describe('leastSquares', () => {
  it('finds the slope of a line exactly, with no scatter', () => {
    const xs = [0, 1, 2, 3, 4];
    const f = leastSquares(xs, xs.map((x) => 10 + 2.5 * x));
    expect(f.slope).toBeCloseTo(2.5, 12);
    expect(f.residualSd).toBeCloseTo(0, 12);
    expect(f.n).toBe(5);
  });

  it('gives the residual scatter and the standard error of the slope', () => {
    // y = x plus +1, -1 alternating: residuals around the fit are about +-1.
    const xs = [0, 1, 2, 3, 4, 5, 6, 7];
    const f = leastSquares(xs, xs.map((x, i) => x + (i % 2 ? -1 : 1)));
    expect(f.slope).toBeGreaterThan(0.7);
    expect(f.slope).toBeLessThan(1);
    expect(f.residualSd).toBeGreaterThan(0.9);
    expect(f.residualSd).toBeLessThan(1.2);
    expect(f.slopeSe).toBeGreaterThan(0);
  });

  it('has no slope from fewer than three samples', () => {
    expect(leastSquares([0, 1], [1, 2]).slope).toBeNaN();
  });
});

describe('flatness', () => {
  const minutes = Array.from({ length: 151 }, (_, i) => 5 + i / 6); // every 10 s from 5 to 30 min

  it('calls scatter without a trend flat', () => {
    const v = flatness(minutes.map((min, i) => ({ min, y: 80 + (i % 3) - 1 })));
    expect(v.flat).toBe(true);
    expect(Math.abs(v.growthMb)).toBeLessThan(FLAT_FLOOR_MB);
  });

  it('calls growth of a few MB over 25 minutes growth, however smooth', () => {
    // 12 MB/hour: 5 MB over the window, above the 1 MB floor.
    const v = flatness(minutes.map((min) => ({ min, y: 80 + (12 * min) / 60 })));
    expect(v.fit.slope).toBeCloseTo(12, 6);
    expect(v.growthMb).toBeCloseTo(5, 6);
    expect(v.flat).toBe(false);
  });

  it('widens the bound to twice the scatter of a noisy series', () => {
    // +-4 MB of scatter and a 1.5 MB rise over the window: within 2 x SD, so not called growth.
    const v = flatness(minutes.map((min, i) => ({ min, y: 200 + (i % 2 ? 4 : -4) + (1.5 * (min - 5)) / 25 })));
    expect(v.boundMb).toBeGreaterThan(7);
    expect(v.flat).toBe(true);
  });

  it("calls the agent's smaller, smooth growth growth with the agent's floor", () => {
    // The agent's pinned pool blocks: 0.8 MB/hour, 0.33 MB over the window, 0.01 MB of scatter.
    const samples = minutes.map((min, i) => ({ min, y: 2.3 + (0.8 * min) / 60 + (i % 2 ? 0.01 : -0.01) }));
    expect(flatness(samples).flat).toBe(true);
    expect(flatness(samples, AGENT_FLAT_FLOOR_MB).flat).toBe(false);
  });

  it('never calls a series flat without enough samples to fit', () => {
    expect(flatness([{ min: 5, y: 1 }, { min: 6, y: 1 }]).flat).toBe(false);
  });
});
