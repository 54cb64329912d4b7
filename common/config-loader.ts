// Loading the configuration (README "Configuration reference"): one JSON file for every
// command, validated once at start. Defaults live in the schemas; unknown keys are refused;
// MACHMON_* environment variables override keys (broker.secretPassword <-
// MACHMON_BROKER_SECRET_PASSWORD). A loader knows only the sections it is given: the Pi
// bundle loads the agent's alone (agent/config.ts), the CLI all of them (common/config.ts).
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { def, opt } from './config-kit.js';
import { ConfigError } from './errors.js';

export type Section = 'broker' | 'agent' | 'ingestor' | 'influxd';
const SECTIONS: readonly Section[] = ['broker', 'agent', 'ingestor', 'influxd'];

const logSchema = z.strictObject({
  level: def(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  file: def(z.nullable(z.string()), null),
});
export type LogConfig = Readonly<z.infer<typeof logSchema>>;

type SectionSchemas = Partial<Record<Section, z.core.$ZodType>>;
/** What a loader returns: the sections it knows (present when the command asked for them) and log. */
export type LoadedConfig<S extends SectionSchemas> = { [K in keyof S]?: S[K] extends z.core.$ZodType ? Readonly<z.infer<S[K]>> : never } & { log: LogConfig };

export interface ConfigLoader<S extends SectionSchemas> {
  /** The whole file's schema: these sections and log. */
  readonly schema: z.core.$ZodType;
  /** Every configurable leaf key with the environment variable that overrides it. */
  envKeys(): EnvKey[];
  /** Merges file, environment and fallbacks, validates the sections a command needs and returns the frozen result. Throws ConfigError naming every bad key. */
  load(opts: LoadOptions): LoadedConfig<S>;
}

export function configLoader<S extends SectionSchemas>(sections: S): ConfigLoader<S> {
  const shape: Record<string, z.core.$ZodType> = {};
  for (const [name, schema] of Object.entries(sections)) if (schema) shape[name] = opt(schema);
  const schema = z.strictObject({ ...shape, log: z.prefault(logSchema, {}) });
  const names = new Set(Object.keys(shape));
  return { schema, envKeys: () => envKeysOf(schema), load: (opts) => load<LoadedConfig<S>>(schema, names, opts) };
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** `secretPassword` -> `SECRET_PASSWORD`. */
const envSegment = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

type Schema = z.core.$ZodType;
const WRAPPERS = new Set(['default', 'optional', 'prefault', 'nullable']);

function unwrap(schema: Schema): Schema {
  let s = schema;
  while (WRAPPERS.has(s._zod.def.type)) s = (s._zod.def as z.core.$ZodOptionalDef).innerType;
  return s;
}

export interface EnvKey { path: string[]; variable: string; leaf: Schema }

/** Every configurable leaf key with the environment variable that overrides it. */
function envKeysOf(configSchema: Schema): EnvKey[] {
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
    throw new ConfigError(`config file ${file} must hold a JSON object with the sections broker, agent, ingestor, influxd, log`, { code: 'CONFIG_UNREADABLE' });
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
function load<C>(configSchema: Schema, sectionNames: ReadonlySet<string>, opts: LoadOptions): C {
  const env = opts.env ?? process.env;
  const merged = structuredClone(opts.raw);
  const fromEnv = new Map<string, string>();
  for (const key of envKeysOf(configSchema)) {
    const raw = env[key.variable];
    if (raw === undefined) continue;
    setPath(merged, key.path, envValue(raw, key.leaf));
    fromEnv.set(key.path.join('.'), key.variable);
  }
  // Sections that the command does not use are not validated beyond being objects.
  for (const name of Object.keys(merged)) {
    if (SECTIONS.includes(name as Section) && !opts.sections.includes(name as Section)) {
      if (typeof merged[name] !== 'object' || merged[name] === null) throw new ConfigError(`${name}: must be an object`);
      delete merged[name];
    }
  }
  for (const section of opts.sections) {
    if (!sectionNames.has(section)) throw new Error(`config: this loader has no schema for the section ${section}`);
    merged[section] ??= {};
  }
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
  return deepFreeze(result.data as C);
}

function applyFallbacks(target: JsonObject, fallbacks: JsonObject) {
  for (const [k, v] of Object.entries(fallbacks)) {
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (cur === undefined) target[k] = structuredClone(v);
      else if (cur && typeof cur === 'object' && !Array.isArray(cur)) applyFallbacks(cur, v);
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
