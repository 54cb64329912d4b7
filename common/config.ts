// One configuration file for every command (README "Configuration reference"), validated once
// at start: the sections' schemas are in broker/, agent/ and ingestor/config.ts; here they are
// loaded and reported. Defaults live in the schemas; unknown keys are refused; MACHMON_* environment variables
// override keys (broker.secretPassword <- MACHMON_BROKER_SECRET_PASSWORD).
import { readFileSync } from 'node:fs';
import { agentSchema, type AgentConfig } from '../agent/config.js';
import { brokerSchema, type BrokerConfig } from '../broker/config.js';
import { ingestorSchema, type IngestorConfig } from '../ingestor/config.js';
import { def, opt, z } from './config-kit.js';
import { ConfigError } from './errors.js';

const logSchema = z.strictObject({
  level: def(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  file: def(z.nullable(z.string()), null),
});

export const configSchema = z.strictObject({
  broker: opt(brokerSchema),
  agent: opt(agentSchema),
  ingestor: opt(ingestorSchema),
  log: z.prefault(logSchema, {}),
});

export type LogConfig = Readonly<z.infer<typeof logSchema>>;
export type Section = 'broker' | 'agent' | 'ingestor';
export interface Config {
  broker?: BrokerConfig;
  agent?: AgentConfig;
  ingestor?: IngestorConfig;
  log: LogConfig;
}

const SECTION_SCHEMAS = { broker: brokerSchema, agent: agentSchema, ingestor: ingestorSchema } as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** `secretPassword` -> `SECRET_PASSWORD`. */
const envSegment = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

type Schema = z.core.$ZodType;
const WRAPPERS = new Set(['default', 'optional', 'prefault', 'nullable']);

function unwrap(schema: Schema): Schema {
  let s = schema;
  while (WRAPPERS.has(s._zod.def.type)) s = (s._zod.def as z.core.$ZodOptionalDef).innerType;
  return s;
}

interface EnvKey { path: string[]; variable: string; leaf: Schema }

/** Every configurable leaf key with the environment variable that overrides it. */
export function envKeys(): EnvKey[] {
  const out: EnvKey[] = [];
  const walk = (schema: Schema, path: string[]) => {
    const s = unwrap(schema);
    if (s._zod.def.type === 'object') {
      for (const [k, v] of Object.entries((s._zod.def as z.core.$ZodObjectDef).shape)) walk(v, [...path, k]);
    } else {
      out.push({ path, variable: `MACHMON_${path.map(envSegment).join('_')}`, leaf: s });
    }
  };
  walk(configSchema, []);
  return out;
}

function envValue(raw: string, leaf: Schema): Json {
  const type = leaf._zod.def.type;
  if (type === 'string' || type === 'enum') return raw;
  if (type === 'array' && !raw.trim().startsWith('[')) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw; // let the schema say what was expected
  }
}

function setPath(obj: JsonObject, path: string[], value: Json) {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as JsonObject;
  }
  cur[path[path.length - 1]!] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export function readConfigFile(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, code: 'CONFIG_UNREADABLE' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err, code: 'CONFIG_UNREADABLE' });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object with the sections broker, agent, ingestor, log`, { code: 'CONFIG_UNREADABLE' });
  }
  return parsed as JsonObject;
}

export interface LoadOptions {
  /** Parsed JSON of the config file ({} when none). */
  raw: JsonObject;
  /** Name used in messages for the raw object (usually the file path). */
  source?: string;
  /** Sections the command needs; they are validated even when absent from the file. */
  sections: readonly Section[];
  env?: NodeJS.ProcessEnv;
  /** Values filled in before validation where the file and environment leave a key unset. */
  fallbacks?: JsonObject;
}

/**
 * Merges file, environment and fallbacks, validates the sections a command needs and
 * returns the frozen result. Throws ConfigError naming every bad key.
 */
export function loadConfig(opts: LoadOptions): Config {
  const env = opts.env ?? process.env;
  const merged = structuredClone(opts.raw);
  const fromEnv = new Map<string, string>();
  for (const key of envKeys()) {
    const raw = env[key.variable];
    if (raw === undefined) continue;
    setPath(merged, key.path, envValue(raw, key.leaf));
    fromEnv.set(key.path.join('.'), key.variable);
  }
  // Sections that the command does not use are not validated beyond being objects.
  for (const name of Object.keys(merged)) {
    if (name in SECTION_SCHEMAS && !opts.sections.includes(name as Section)) {
      if (typeof merged[name] !== 'object' || merged[name] === null) throw new ConfigError(`${name}: must be an object`);
      delete merged[name];
    }
  }
  for (const section of opts.sections) merged[section] ??= {};
  applyFallbacks(merged, opts.fallbacks ?? {});
  const result = z.safeParse(configSchema, merged);
  if (!result.success) {
    const where = opts.source ? ` in ${opts.source}` : '';
    const lines = result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      return keys
        .map((p) => {
          const key = p.join('.') || '(top level)';
          const envVar = fromEnv.get(key);
          const msg = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message.replace(/^Invalid input: /, '');
          return `  ${key}: ${msg}${envVar ? ` (from ${envVar})` : ''}`;
        })
        .join('\n');
    });
    throw new ConfigError(`invalid configuration${where}:\n${lines.join('\n')}`);
  }
  return deepFreeze(result.data as Config);
}

function applyFallbacks(target: JsonObject, fallbacks: JsonObject) {
  for (const [k, v] of Object.entries(fallbacks)) {
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) applyFallbacks(cur, v);
    } else if (cur === undefined && v !== undefined) {
      target[k] = v;
    }
  }
}

/** Reads a PEM file named by a config key; a missing or unreadable file is a ConfigError naming the key. */
export function readPemFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}
