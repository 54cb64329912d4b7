// Shared by the agent runtime tests: config, captured logs, small real collectors.
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../../common/config.js';
import type { AgentConfig } from '../../../agent/config.js';
import type { Logger } from '../../../common/log.js';
import type { MetricName } from '../../../common/schema.js';
import type { CollectorEntry, Reading } from '../../../agent/collectors/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function agentConfig(agent: { [k: string]: Json } = {}): AgentConfig {
  return loadConfig({ raw: { agent: { password: 'pw', hostname: 'pi-test', ...agent } }, sections: ['agent'], env: {} }).agent!;
}

export interface LogLine { level: number; msg: string; [k: string]: unknown }

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLog(level: pino.Level = 'debug'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { log: pino({ level }, stream), lines };
}

export const WARN = 40;
export const DEBUG = 20;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() is truthy or fails after timeoutMs. */
export async function waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A collector entry whose reading comes from fn (called once per run). */
export function entry<M extends MetricName>(name: M, fn: (run: number) => Reading<M> | Promise<Reading<M>>, o: { defaultEnabled?: boolean; defaultIntervalMs?: number; onClose?: () => void } = {}): CollectorEntry<M> & { runs: () => number } {
  let runs = 0;
  return {
    defaultEnabled: o.defaultEnabled ?? true,
    defaultIntervalMs: o.defaultIntervalMs,
    create: () => ({ name, collect: async () => fn(++runs), close: o.onClose }),
    runs: () => runs,
  };
}

/** A processesNumber collector counting its runs in the reading. */
export const counter = (o: Parameters<typeof entry>[2] = {}) => entry('processesNumber', (run) => ({ active: run, total: 100 + run }), o);
