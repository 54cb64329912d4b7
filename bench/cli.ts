// Dispatch of `npm run bench -- <name> [--key value ...]` (see run.mjs).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { benchAgent } from './agent-footprint.js';
import { benchFleet, FLEET_DEFAULTS, type FleetOptions } from './fleet.js';
import { benchGoals, benchIngestorAlone, GOALS_DEFAULTS, type GoalsOptions } from './goals.js';
import { benchOutage, OUTAGE_DEFAULTS, type OutageOptions } from './outage.js';
import { recordPayloads } from './record-payloads.js';
import { profileTop } from './profile-top.js';
import { PAYLOADS_DIR } from './repo.js';

export type Options = Record<string, string | true>;

export function parseOptions(argv: readonly string[]): { name: string; opts: Options } {
  const opts: Options = {};
  let name = 'default';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (v !== undefined) opts[k] = v;
      else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) opts[k] = argv[++i]!;
      else opts[k] = true;
    } else if (name === 'default' && i === 0) name = a;
  }
  return { name, opts };
}

function numbers<T extends object>(defaults: T, opts: Options): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(opts)) {
    if (!(k in out)) throw new Error(`unknown option --${k} (known: ${Object.keys(out).join(', ')})`);
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} needs a positive number`);
    out[k] = n;
  }
  return out as T;
}

async function ensurePayloads() {
  if (!existsSync(path.join(PAYLOADS_DIR, 'x86.json')) || !existsSync(path.join(PAYLOADS_DIR, 'pi4.json'))) await recordPayloads();
}

export async function main(argv: readonly string[]): Promise<number> {
  const { name, opts } = parseOptions(argv);
  switch (name) {
    case 'record':
      for (const f of await recordPayloads()) console.log(`recorded ${f}`);
      return 0;
    case 'fleet': {
      await ensurePayloads();
      const s = await benchFleet(numbers<FleetOptions>(FLEET_DEFAULTS, opts));
      console.log(s.line);
      return 0;
    }
    case 'agent': {
      const s = await benchAgent(numbers({ seconds: 60 }, opts));
      console.log(s.line);
      return 0;
    }
    case 'default':
    case 'goals': {
      // The goals of README "Scaling": fleet, connects, capacity, ingestor alone, overload, reconnect storm.
      await ensurePayloads();
      const g = await benchGoals(numbers<GoalsOptions>(GOALS_DEFAULTS, opts));
      for (const l of g.lines) console.log(l);
      return g.ok ? 0 : 1;
    }
    case 'ingestor': {
      await ensurePayloads();
      console.log(await benchIngestorAlone(numbers({ repeats: 3, burstAgents: 100, burstMessages: 400 }, opts)));
      return 0;
    }
    case 'outage': {
      await ensurePayloads();
      const s = await benchOutage(numbers<OutageOptions>(OUTAGE_DEFAULTS, opts));
      console.log(s.line);
      return s.ok ? 0 : 1;
    }
    case 'profile-top': {
      const file = argv[1];
      if (!file) throw new Error('usage: profile-top <file.cpuprofile> [n]');
      for (const l of profileTop(file, Number(argv[2] ?? 25))) console.log(l);
      return 0;
    }
    default:
      console.error(`unknown benchmark "${name}"`);
      return 2;
  }
}
