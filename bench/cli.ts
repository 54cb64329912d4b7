// Dispatch of `npm run bench -- <name> [--key value ...]` (see run.mjs).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { benchAgent } from './agent-footprint.js';
import { benchFleet, FLEET_DEFAULTS, type FleetOptions } from './fleet.js';
import { benchHomeAssistant, HOME_ASSISTANT_DEFAULTS } from './home-assistant.js';
import { benchGoals, benchIngestorAlone, GOALS_DEFAULTS, parsePhases, type GoalsOptions } from './goals.js';
import { benchOutage, OUTAGE_DEFAULTS, type OutageOptions } from './outage.js';
import { recordPayloads } from './record-payloads.js';
import { benchSoak, SOAK_DEFAULTS, type SoakOptions } from './soak.js';
import { profileTop } from './profile-top.js';
import { parseCommandLine } from '../common/args.js';
import { PAYLOADS_DIR } from './repo.js';

/** A benchmark's options: numbers, each known by its default (`--agents 2000`); any other is an error. */
function numbers<T extends object>(defaults: T, argv: readonly string[]): T {
  const known = Object.keys(defaults);
  const parsed = parseCommandLine(argv, Object.fromEntries(known.map((k) => [k, { type: 'string' as const }])));
  if ('error' in parsed) throw new Error(`${parsed.error} (known: ${known.join(', ')})`);
  if (parsed.positionals.length) throw new Error(`unexpected argument ${parsed.positionals[0]}`);
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(parsed.values)) {
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
  // `npm run bench -- [<name>] [--key value ...]`; without a name, the goals.
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  const name = named ? argv[0]! : 'default';
  const opts = named ? argv.slice(1) : argv;
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
      // --only fleet,capacity,overload,storm: some phases alone (the one option that is not a number).
      const at = opts.findIndex((a) => a === '--only' || a.startsWith('--only='));
      const only = at < 0 ? undefined : parsePhases(opts[at]!.startsWith('--only=') ? opts[at]!.slice('--only='.length) : (opts[at + 1] ?? ''));
      const rest = at < 0 ? opts : opts.filter((_, i) => i !== at && !(i === at + 1 && opts[at] === '--only'));
      const g = await benchGoals({ ...numbers<GoalsOptions>(GOALS_DEFAULTS, rest), ...(only ? { only } : {}) });
      for (const l of g.lines) console.log(l);
      return g.ok ? 0 : 1;
    }
    case 'soak': {
      // Memory of broker, ingestor and one real agent under a steady fleet (README "Scaling", Soak).
      await ensurePayloads();
      const g = await benchSoak(numbers<SoakOptions>(SOAK_DEFAULTS, opts));
      for (const l of g.lines) console.log(l);
      return g.ok ? 0 : 1;
    }
    case 'ingestor': {
      await ensurePayloads();
      const s = await benchIngestorAlone(numbers({ repeats: 3, burstAgents: 100, burstMessages: 1500 }, opts));
      console.log(s.line);
      return s.ok ? 0 : 1;
    }
    case 'home-assistant': {
      await ensurePayloads();
      const h = await benchHomeAssistant(numbers(HOME_ASSISTANT_DEFAULTS, opts));
      for (const l of h.lines) console.log(l);
      return h.ok ? 0 : 1;
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
