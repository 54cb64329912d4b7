import { afterEach, describe, expect, it } from 'vitest';
import { NoDataError } from '../../../../agent/collectors/types.js';
import { makePaths } from '../../../../agent/read/paths.js';
import { planGroups, Runner, type CollectorTable, type ReadingSink } from '../../../../agent/runtime/runner.js';
import { silentLogger, type Logger } from '../../../../common/log.js';
import { COLLECTORS } from '../../../../agent/collectors/index.js';
import { agentConfig } from '../../../../testkit/configs.js';
import { captureLog, DEBUG, WARN } from '../../../../testkit/log.js';
import { counter, entry } from './helpers.js';
import { sleep, waitFor } from '../../../../testkit/wait.js';

const runners: Runner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

function startRunner(collectors: CollectorTable, o: { config?: Parameters<typeof agentConfig>[0]; log?: Logger; onReading?: ReadingSink } = {}) {
  const config = agentConfig(o.config);
  const readings: { metric: string; reading: unknown; t: number }[] = [];
  const runner = new Runner({
    config,
    collectors,
    context: { config, paths: makePaths('/') },
    log: o.log ?? silentLogger,
    onReading: o.onReading ?? ((metric, reading, t) => readings.push({ metric, reading, t: t.wallMs })),
  });
  runners.push(runner);
  runner.start();
  return { runner, readings };
}

describe('planGroups', () => {
  it('takes metrics.<name> over the entry defaults over agent.intervalMs', () => {
    const table: CollectorTable = {
      cpu: entry('cpu', () => ({})),
      mem: entry('mem', () => ({}), { defaultIntervalMs: 60_000 }),
      logs: entry('logs', () => ({}), { defaultEnabled: false }),
      piHealth: entry('piHealth', () => ({}), { defaultEnabled: false }),
      disk: entry('disk', () => ({})),
    };
    const config = agentConfig({ intervalMs: 5000, metrics: { piHealth: { enabled: true, intervalMs: 1234 }, disk: { enabled: false }, mem: { intervalMs: 7000 } } });
    expect(planGroups(config, table)).toEqual([
      { name: 'cpu', intervalMs: 5000 },
      { name: 'mem', intervalMs: 7000 },
      { name: 'piHealth', intervalMs: 1234 },
    ]);
  });

  it('plans every registered collector with the shipped defaults', () => {
    const plan = planGroups(agentConfig(), COLLECTORS);
    expect(plan.find((p) => p.name === 'process')?.intervalMs).toBe(30_000);
    expect(plan.every((p) => p.intervalMs > 0)).toBe(true);
  });
});

describe('runner', () => {
  it('runs each group on its own interval, the first run at once, with the sample time', async () => {
    const fast = counter({ defaultIntervalMs: 40 });
    const slow = entry('cpusNumber', (run) => ({ cpusTotal: run }));
    const before = Date.now();
    const { runner, readings } = startRunner({ processesNumber: fast, cpusNumber: slow }, { config: { intervalMs: 400 } });
    await waitFor('first slow reading', () => readings.some((r) => r.metric === 'cpusNumber'), 2000);
    await sleep(900);
    const stats = runner.groupStats();
    expect(stats['processesNumber']!.intervalMs).toBe(40);
    expect(stats['cpusNumber']!.intervalMs).toBe(400);
    expect(slow.runs()).toBeGreaterThanOrEqual(2);
    expect(slow.runs()).toBeLessThanOrEqual(4);
    expect(fast.runs()).toBeGreaterThan(slow.runs() * 2);
    const first = readings.find((r) => r.metric === 'cpusNumber')!;
    expect(first.t).toBeGreaterThanOrEqual(before);
    expect(first.t).toBeLessThan(before + 300);
  });

  it('runs the collectors of one tick concurrently', async () => {
    // each waits for the other to have started: run one after the other, this never ends
    let release!: () => void;
    const bothStarted = new Promise<void>((r) => (release = r));
    let started = 0;
    const wait = async () => {
      if (++started === 2) release();
      await bothStarted;
      return {};
    };
    const { readings } = startRunner({ cpu: entry('cpu', wait), mem: entry('mem', wait) }, { config: { intervalMs: 60_000 } });
    await waitFor('both readings', () => readings.length === 2, 3000);
  });

  it('isolates failures: counted, logged at warn once per distinct error, others unaffected', async () => {
    const { log, lines } = captureLog();
    const broken = entry('cpu', () => {
      throw new Error('cannot read /proc/stat');
    });
    const good = counter();
    const quiet = entry('mem', () => {
      throw new NoDataError('not on this board');
    });
    const { runner, readings } = startRunner({ cpu: broken, processesNumber: good, mem: quiet }, { config: { intervalMs: 30 }, log });
    await waitFor('several runs', () => broken.runs() >= 5 && quiet.runs() >= 5, 5000);
    expect(readings.filter((r) => r.metric === 'processesNumber').length).toBeGreaterThanOrEqual(4);
    expect(readings.some((r) => r.metric === 'cpu' || r.metric === 'mem')).toBe(false);
    expect(runner.collectorFailuresTotal).toBe(runner.groupStats()['cpu']!.failures);
    expect(runner.collectorFailuresTotal).toBeGreaterThanOrEqual(5);

    const warns = lines.filter((l) => l.level === WARN);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ collector: 'cpu' });
    expect(JSON.stringify(warns[0]!.err)).toContain('cannot read /proc/stat');
    const noData = lines.filter((l) => l.collector === 'mem');
    expect(noData.length).toBeGreaterThanOrEqual(5);
    expect(noData.every((l) => l.level === DEBUG)).toBe(true);
  });

  it('warns again for a different error message of the same collector', async () => {
    const { log, lines } = captureLog();
    const flaky = entry('cpu', (run) => {
      throw new Error(run % 2 ? 'odd failure' : 'even failure');
    });
    startRunner({ cpu: flaky }, { config: { intervalMs: 20 }, log });
    await waitFor('runs', () => flaky.runs() >= 8, 5000);
    expect(lines.filter((l) => l.level === WARN)).toHaveLength(2);
  });

  it('counts a reading the sink refuses as a failure of that collector', async () => {
    const { runner } = startRunner({ processesNumber: counter() }, {
      config: { intervalMs: 20 },
      onReading: () => {
        throw new Error('disk full');
      },
    });
    await waitFor('failures', () => runner.collectorFailuresTotal >= 3, 5000);
  });

  it('never overlaps two runs of one collector', async () => {
    let active = 0;
    let maxActive = 0;
    const slow = entry('cpu', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(150);
      active--;
      return {};
    });
    startRunner({ cpu: slow }, { config: { intervalMs: 20 } });
    await sleep(700);
    expect(maxActive).toBe(1);
    expect(slow.runs()).toBeGreaterThanOrEqual(2);
    expect(slow.runs()).toBeLessThanOrEqual(6);
  });

  it('stop() waits for running collections, keeps their readings and closes the collectors', async () => {
    let closed = 0;
    let finished = false;
    const slow = entry(
      'cpu',
      async () => {
        await sleep(200);
        finished = true;
        return {};
      },
      { onClose: () => void closed++ },
    );
    const { runner, readings } = startRunner({ cpu: slow }, { config: { intervalMs: 60_000 } });
    await sleep(20);
    await runner.stop();
    expect(finished).toBe(true);
    expect(readings).toHaveLength(1);
    expect(closed).toBe(1);
    await sleep(100);
    expect(slow.runs()).toBe(1);
  });

  it('a collector that cannot be created disables only its group', async () => {
    const { runner, readings } = startRunner(
      {
        cpu: { defaultEnabled: true, create: () => { throw new Error('no /proc'); } },
        processesNumber: counter(),
      },
      { config: { intervalMs: 60_000 } },
    );
    await waitFor('reading', () => readings.length === 1, 2000);
    expect(runner.collectorFailuresTotal).toBe(1);
    expect(Object.keys(runner.groupStats())).toEqual(['processesNumber']);
  });
});
