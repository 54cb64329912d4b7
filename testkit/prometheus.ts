// Reading a /metrics page as Prometheus does: `promtool check metrics` (Debian's prometheus
// package; the parser and linter of Prometheus itself) must accept it, and `parseExposition`
// reads the samples for the tests' numbers. The rules encoded here are those of the text
// format in prometheus/docs content/docs/instrumenting/exposition_formats.md ("Exposition
// formats", prometheus.io/docs/instrumenting/exposition_formats/), each cited where used.
import { spawnSync } from 'node:child_process';

export interface Family {
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** What `promtool check metrics` says about a page: exit 0 clean, 3 lint problems, 1 unparsable. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw new Error(`promtool is missing (Debian package prometheus; npm test installs it as root): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * prom-client's default metrics that promtool's linter flags (gauges named _total:
 * nodejs_active_handles_total, ...); they are prom-client's names, kept as they are for
 * dashboards made for them. Nothing of Machmon's may be flagged.
 */
const PROM_CLIENT_LINT = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/** promtool parses the page (exit 1 is a parse error), and lints nothing but prom-client's known names. */
export function expectPromtoolClean(text: string): void {
  const r = promtoolCheck(text);
  const findings = r.output.split('\n').filter((l) => l && !PROM_CLIENT_LINT.test(l));
  if ((r.status !== 0 && r.status !== 3) || findings.length) throw new Error(`promtool check metrics (exit ${r.status}):\n${r.output}`);
}

/** "label_value can be any sequence of UTF-8 characters, but the backslash (\), double-quote ("), and line feed (\n) characters have to be escaped as \\, \", and \n". */
function unescapeLabel(v: string): string {
  return v.replace(/\\(\\|"|n)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * "value is a float represented as required by Go's ParseFloat() function. In addition to
 * standard numerical values, NaN, +Inf, and -Inf are valid values". ParseFloat (Go strconv)
 * "recognizes the string "NaN", and the (possibly signed) strings "Inf" and "Infinity" ... It
 * ignores case when matching": prom-client writes NaN as "Nan", which Prometheus reads.
 */
function parseValue(v: string, line: string): number {
  if (/^nan$/i.test(v)) return NaN;
  if (/^\+?inf(inity)?$/i.test(v)) return Infinity;
  if (/^-inf(inity)?$/i.test(v)) return -Infinity;
  const n = Number(v);
  if (v === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${line}`);
  return n;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

/**
 * Families by name. "The protocol is line-oriented. A line-feed character (\n) separates
 * lines. The last line must end with a line-feed character. Empty lines are ignored."
 * "# HELP" and "# TYPE" lines name the family; other "#" lines are comments. A histogram's
 * samples are <name>_bucket{le=...}, <name>_sum and <name>_count.
 */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the last line must end with a line feed');
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: 'untyped', help: '', samples: [] }));
    return f;
  };
  const owner = (sample: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = sample.endsWith(suffix) ? sample.slice(0, -suffix.length) : undefined;
      const f = base ? families.get(base) : undefined;
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base!;
    }
    return sample;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const f = family(m[2]!);
      if (m[1] === 'HELP') f.help = m[3]!.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      else {
        // "The TYPE line for a metric name has to appear before the first sample is reported for that metric name."
        if (f.samples.length) throw new Error(`TYPE after samples: ${line}`);
        f.type = m[3] as Family['type'];
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const at = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l || LABEL.lastIndex === at) throw new Error(`bad labels: ${line}`);
      labels[l[1]!] = unescapeLabel(l[2]!);
    }
    family(owner(m[1]!)).samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) });
  }
  return families;
}

/** The value of one sample: `name` with exactly these labels (of those it has). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

/** GET <base>/metrics; checks the content type of the text format ("text/plain; version=0.0.4"). */
export async function scrape(base: string): Promise<{ text: string; families: Map<string, Family> }> {
  const r = await fetch(`${base}/metrics`);
  if (r.status !== 200) throw new Error(`${base}/metrics answered ${r.status}`);
  const type = r.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4/.test(type)) throw new Error(`${base}/metrics content type ${type}, not the text format 0.0.4`);
  const text = await r.text();
  return { text, families: parseExposition(text) };
}

/** A page that promtool accepts (expectPromtoolClean), read into families. */
export async function checkedScrape(base: string): Promise<Map<string, Family>> {
  const { text, families } = await scrape(base);
  expectPromtoolClean(text);
  return families;
}

/** sampleValue, NaN when there is no such sample (so a difference with it fails any comparison). */
export const valueOf = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => sampleValue(families, name, labels) ?? NaN;
