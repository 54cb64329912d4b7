// Failed logins from one address: slowed down (growing, capped, decaying delay) and logged
// once per burst; a good client is not held up meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../../broker/auth-throttle.js';
import { connect, refusalCode, startTestBroker, type TestBroker } from '../../../testkit/broker.js';
import { captureLog } from '../../../testkit/log.js';
import { PASSWORD } from '../../../testkit/configs.js';
import { sleep, waitFor } from '../../../testkit/wait.js';

describe('AuthThrottle', () => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1000, halfLifeMs: 10_000, summaryIntervalMs: 5000, maxAddresses: 3 };

  it('doubles the delay per failure up to the cap, and lets it decay', () => {
    let now = 0;
    const { log } = captureLog('info');
    const t = new AuthThrottle(opts, log, () => now);
    try {
      expect([1, 2, 3, 4, 5, 6].map(() => t.failure('10.0.0.1', 'bad_password'))).toEqual([100, 200, 400, 800, 1000, 1000]);
      expect(t.failure('10.0.0.2', 'bad_password')).toBe(100); // per address
      now += 60_000; // six half-lives: score 6 -> 6/64, plus this failure
      expect(t.failure('10.0.0.1', 'bad_password')).toBe(Math.round(100 * 2 ** (6 / 64)));
    } finally {
      t.stop();
    }
  });

  it('logs the first failure of a burst, then one summary per interval, then forgets', () => {
    let now = 0;
    const { log, lines } = captureLog('info');
    const t = new AuthThrottle(opts, log, () => now);
    try {
      for (let i = 0; i < 50; i++) t.failure('10.0.0.1', i % 10 === 0 ? 'host_not_allowed' : 'bad_password', { username: 'x' });
      expect(lines.map((l) => l.msg)).toEqual(['login refused']);
      now += 5000;
      t.sweep();
      expect(lines[1]).toMatchObject({ msg: 'repeated login failures from one address', address: '10.0.0.1', failures: 49, reasons: { bad_password: 45, host_not_allowed: 4 } });
      now += 5000;
      t.sweep(); // nothing new: the burst is over, no line
      expect(lines).toHaveLength(2);
      t.failure('10.0.0.1', 'bad_password');
      expect(lines).toHaveLength(3); // a new burst starts with a full line
      expect(lines[2]!.msg).toBe('login refused');
      now += 10 * 60_000;
      t.sweep();
      t.sweep();
      expect(t.size).toBe(0);
    } finally {
      t.stop();
    }
  });

  it('remembers at most maxAddresses, summarising what it forgets', () => {
    const { log, lines } = captureLog('info');
    const t = new AuthThrottle(opts, log);
    try {
      t.failure('10.0.0.1', 'bad_password');
      t.failure('10.0.0.1', 'bad_password');
      for (let i = 2; i <= 10; i++) t.failure(`10.0.0.${i}`, 'bad_password');
      expect(t.size).toBe(3);
      expect(lines.some((l) => l.msg === 'repeated login failures from one address' && l.address === '10.0.0.1' && l.failures === 1)).toBe(true);
    } finally {
      t.stop();
    }
  });
});

describe('a burst of 200 wrong passwords from one address', () => {
  let tb: TestBroker;
  beforeAll(async () => {
    tb = await startTestBroker({ authThrottle: { baseDelayMs: 5, maxDelayMs: 1000, halfLifeMs: 60_000, summaryIntervalMs: 400 } });
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('is slowed down, logged once per burst, and a good client still connects meanwhile', async () => {
    const durations: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 200) {
        next++;
        const t0 = Date.now();
        expect(await refusalCode(tb.url, 'raspberrypi', 'guess')).toBe(4);
        durations.push(Date.now() - t0);
      }
    };
    const burst = Promise.all(Array.from({ length: 50 }, worker));

    await waitFor('the burst under way', () => durations.length >= 60, 20_000);
    const t0 = Date.now();
    const good = await connect(tb.url, 'pi-good', PASSWORD);
    const goodMs = Date.now() - t0;
    await good.endAsync();
    await burst;

    expect(tb.broker.refusals.bad_password).toBe(200);
    // Slowed: the first refusal waited baseDelayMs (see its log line below), the late ones the cap.
    const late = durations.slice(-50).sort((a, b) => a - b)[25]!;
    expect(late).toBeGreaterThanOrEqual(980);
    // A success is never delayed by the throttle (what it takes here is the busy process, not the cap).
    expect(goodMs).toBeLessThan(600);

    await sleep(900); // two summary intervals: one summary, then the burst ends
    const refused = tb.lines.filter((l) => l.msg === 'login refused');
    const summaries = tb.lines.filter((l) => l.msg === 'repeated login failures from one address');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ address: '127.0.0.1', reason: 'bad_password', username: 'raspberrypi', delayMs: 5 });
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(20); // one per 400 ms while it lasted, not 199
    expect(summaries.reduce((n, l) => n + (l.failures as number), 0)).toBe(199);
    expect(JSON.stringify(tb.lines)).not.toContain('guess');
  });
});
