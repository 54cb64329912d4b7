// Reads the provisioned Grafana dashboards and does to their InfluxQL what Grafana does
// before sending it: substitute the time filter, the interval and the template variables.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './repo.js';

export const GRAFANA_DIR = path.join(REPO, 'grafana');
export const DASHBOARD_DIR = path.join(GRAFANA_DIR, 'dashboards');

export interface GridPos { x: number; y: number; w: number; h: number }
export interface Target { refId: string; query?: string; rawQuery?: boolean; resultFormat?: string; datasource?: DatasourceRef; alias?: string }
export interface DatasourceRef { type?: string; uid?: string }
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: GridPos;
  datasource?: DatasourceRef | null;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: { value: number | null; color: string }[] } }; overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[] };
  links?: { url: string }[];
}
export interface Variable { name: string; type: string; query?: string | { query: string }; datasource?: DatasourceRef; multi?: boolean; includeAll?: boolean }
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
  links?: { url?: string; type: string }[];
}

export interface LoadedDashboard { file: string; model: Dashboard }

export function loadDashboards(): LoadedDashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, model: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) as Dashboard }));
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export interface PanelQuery { dashboard: string; panel: Panel; refId: string; query: string }

export function panelQueries(d: Dashboard): PanelQuery[] {
  return allPanels(d).flatMap((panel) => (panel.targets ?? []).map((t) => ({ dashboard: d.uid, panel, refId: t.refId, query: t.query ?? '' })));
}

export function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

/** Grafana's regex escaping of variable values (public/app/features/variables/utils). */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/**
 * What Grafana's InfluxDB data source sends for a variable: a multi-value or "All"
 * variable becomes (a|b) of regex-escaped values (so /^$hostname$/ -> /^(a|b)$/), a single
 * value of a single-value variable is inserted as it is.
 */
export function formatVariable(values: readonly string[], v: Pick<Variable, 'multi' | 'includeAll'>): string {
  if (!v.multi && !v.includeAll) return values[0] ?? '';
  const escaped = values.map(escapeRegex);
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export interface Substitution {
  /** e.g. "1h": $timeFilter becomes time > now() - 1h */
  range: string;
  /** e.g. "10s" */
  interval: string;
  /** Values per variable name, formatted by formatVariable. */
  variables: Record<string, string>;
}

const INTERVAL_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function substitute(query: string, s: Substitution): string {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s.interval);
  if (!m) throw new Error(`interval ${s.interval} is not a duration`);
  const intervalMs = String(Number(m[1]) * INTERVAL_MS[m[2]!]!);
  let out = query
    .replaceAll('$timeFilter', `time > now() - ${s.range}`)
    .replaceAll('$__interval_ms', intervalMs)
    .replaceAll('$__interval', s.interval);
  for (const [name, value] of Object.entries(s.variables)) {
    out = out.replace(new RegExp(`\\$\\{${name}(?::[a-z]+)?\\}|\\$${name}\\b|\\[\\[${name}\\]\\]`, 'g'), () => value);
  }
  return out;
}

/** Template variables a text refers to: $name, ${name}, ${name:format}, [[name]] (built-ins excluded). */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][\w]*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)\]\]/g)) {
    const name = m[1] ?? m[2] ?? m[3]!;
    if (name.startsWith('__') || name === 'timeFilter' || name.startsWith('tag_') || name === 'col') continue;
    names.add(name);
  }
  return [...names];
}

export interface QueryRefs { measurements: string[]; selected: string[]; filtered: string[] }

/**
 * The identifiers an InfluxQL SELECT names: measurements after FROM, identifiers in the
 * SELECT list (fields, or tags selected as values; aliases after AS excluded), and those of
 * WHERE and GROUP BY (tags, or fields in WHERE).
 */
export function queryRefs(query: string): QueryRefs {
  const q = query.replace(/\s+/g, ' ').trim();
  const m = /^SELECT (.+?) FROM (.+?)(?: WHERE (.+?))?(?: GROUP BY (.+?))?(?: ORDER BY .+?)?(?: LIMIT \d+)?(?: SLIMIT \d+)?$/i.exec(q);
  if (!m) throw new Error(`not a SELECT the dashboard test understands: ${query}`);
  const quoted = (s: string | undefined) => [...(s ?? '').matchAll(/"([^"]+)"/g)].map((x) => x[1]!);
  const selectList = m[1]!.replace(/\bAS "[^"]+"/gi, '');
  const regexless = (s: string | undefined) => (s ?? '').replace(/\/(?:\\.|[^/])*\//g, '');
  return {
    measurements: quoted(m[2]),
    selected: quoted(selectList),
    filtered: [...quoted(regexless(m[3])), ...quoted(m[4])],
  };
}
