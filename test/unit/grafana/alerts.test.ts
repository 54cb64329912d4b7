// Static checks of grafana/provisioning/alerting/: the files Grafana reads parse and hold what
// its file provisioning requires (pkg/services/provisioning/alerting/rules_types.go of
// grafana/grafana, AlertRuleGroupV1/AlertRuleV1/QueryV1, and the documentation page "Use
// configuration files to provision alerting resources", Grafana 10.4), and every query names
// only measurements, fields and tags that the ingestor writes.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTING_DIR, staleAlertFiles, THRESHOLDS } from '../../../grafana/build-alerts.js';
import { ALERT_RULES_PATH, influxqlAt, loadAlerting } from '../../../testkit/alert-eval.js';
import { queryRefs } from '../../../testkit/dashboard-model.js';
import { readmeSection } from '../../../testkit/readme.js';
import { CATALOG } from './catalog.js';

const file = loadAlerting();
const rules = file.groups.flatMap((g) => g.rules);
/** Prometheus durations as model.ParseDuration takes them (what Grafana parses `for` and `interval` with). */
const DURATION = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/;
const seconds = (d: string) => {
  const m = DURATION.exec(d);
  if (!m || d === '') throw new Error(`"${d}" is not a duration`);
  const n = (i: number) => Number(m[i] ?? 0);
  return n(2) * 31_536_000 + n(4) * 604_800 + n(6) * 86_400 + n(8) * 3600 + n(10) * 60 + n(12) + n(14) / 1000;
};

describe('grafana alert rules', () => {
  it('are what grafana/build-alerts.ts writes (npm run dashboards)', () => {
    expect(staleAlertFiles()).toEqual([]);
  });

  it('are alone with the commented contact point example, which Grafana loads as nothing', () => {
    // Grafana reads every .yaml/.yml/.json file of the directory (config_reader.go).
    expect(readdirSync(ALERTING_DIR).sort()).toEqual(['contact-points.yaml', 'machmon.yaml']);
    const example = readFileSync(path.join(ALERTING_DIR, 'contact-points.yaml'), 'utf8');
    expect(parse(example)).toBeNull();
    // Uncommented from "# apiVersion: 1" on, it is a valid file: an e-mail and a webhook contact point, and a policy routing service=machmon.
    const lines = example.split('\n');
    const uncommented = parse(lines.slice(lines.indexOf('# apiVersion: 1')).map((l) => l.replace(/^# ?/, '')).join('\n')) as {
      apiVersion: number;
      contactPoints: { name: string; receivers: { uid: string; type: string; settings: Record<string, unknown> }[] }[];
      policies: { routes: { receiver: string; object_matchers: string[][] }[] }[];
    };
    expect(uncommented.apiVersion).toBe(1);
    expect(uncommented.contactPoints.flatMap((c) => c.receivers.map((r) => r.type)).sort()).toEqual(['email', 'webhook']);
    const names = uncommented.contactPoints.map((c) => c.name);
    for (const route of uncommented.policies[0]!.routes) {
      expect(names).toContain(route.receiver);
      expect(route.object_matchers).toContainEqual(['service', '=', 'machmon']);
    }
  });

  it('form groups of the file format, in the folder of the dashboards', () => {
    expect(file.apiVersion).toBe(1);
    for (const g of file.groups) {
      expect(g.orgId).toBe(1);
      expect(g.name.trim()).not.toBe('');
      expect(g.folder).toBe('Machmon');
      expect(seconds(g.interval)).toBeGreaterThanOrEqual(10);
      expect(g.rules.length).toBeGreaterThan(0);
    }
    const dashboardsProvider = parse(readFileSync(path.join(ALERTING_DIR, '../dashboards/machmon.yaml'), 'utf8')) as { providers: { folder: string }[] };
    expect(dashboardsProvider.providers[0]!.folder).toBe('Machmon');
  });

  it('have unique, valid uids and unique titles', () => {
    // A Grafana uid: at most 40 characters of letters, digits, - and _.
    for (const r of rules) expect(r.uid, r.title).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(new Set(rules.map((r) => r.uid)).size).toBe(rules.length);
    expect(new Set(rules.map((r) => r.title)).size).toBe(rules.length);
  });

  describe.each(rules.map((r) => [r.title, r] as const))('%s', (_title, r) => {
    const refIds = r.data.map((q) => q.refId);
    const influx = r.data.filter((q) => q.datasourceUid !== '__expr__');

    it('has a condition naming one of its queries, durations Grafana parses and known states', () => {
      expect(new Set(refIds).size).toBe(refIds.length);
      expect(refIds).toContain(r.condition);
      expect(() => seconds(r.for)).not.toThrow();
      expect(['NoData', 'Alerting', 'OK']).toContain(r.noDataState);
      expect(['Error', 'Alerting', 'OK']).toContain(r.execErrState);
      expect(r.isPaused).toBe(false);
    });

    it('queries the Machmon data source with raw InfluxQL over a relative time range', () => {
      expect(influx.length).toBeGreaterThan(0);
      for (const q of influx) {
        expect(q.datasourceUid).toBe('machmon-influxdb');
        const m = q.model as { refId: string; query: string; rawQuery: boolean; resultFormat: string; datasource: { uid: string } };
        expect(m).toMatchObject({ refId: q.refId, rawQuery: true, resultFormat: 'time_series', datasource: { uid: 'machmon-influxdb' } });
        expect(q.relativeTimeRange!.from).toBeGreaterThan(q.relativeTimeRange!.to);
        expect(m.query).toMatch(/^SELECT .* WHERE \$timeFilter( AND |\s)/);
        // Substituted as Grafana does, nothing is left for Grafana to fill in.
        expect(() => influxqlAt(q as never, 1_700_000_000_000)).not.toThrow();
      }
    });

    it('names only measurements, fields and tags that the ingestor writes, and groups by hostname', () => {
      for (const q of influx) {
        const query = (q.model as { query: string }).query;
        const refs = queryRefs(query.replace(/ fill\(\w+\)$/, ''));
        expect(refs.measurements).toHaveLength(1);
        const info = CATALOG.get(refs.measurements[0]!);
        expect(info, query).toBeDefined();
        for (const f of refs.selected) expect(info!.fields.has(f), `field "${f}" in ${query}`).toBe(true);
        for (const t of refs.filtered) expect(info!.tags.has(t), `tag "${t}" in ${query}`).toBe(true);
        // GROUP BY "hostname" makes the host a label of every alert.
        expect(/GROUP BY (time\([^)]*\), )?"hostname"/.test(query), query).toBe(true);
      }
    });

    it('chains expressions that refer to earlier queries, and ends in a threshold or math', () => {
      for (const q of r.data.filter((x) => x.datasourceUid === '__expr__')) {
        const m = q.model as { type: string; expression: string; refId: string; reducer?: string; conditions?: { evaluator: { type: string; params: number[] } }[] };
        expect(m.refId).toBe(q.refId);
        expect(['reduce', 'threshold', 'math']).toContain(m.type);
        const refs = m.type === 'math' ? [...m.expression.matchAll(/\$\{?(\w+)\}?/g)].map((x) => x[1]!) : [m.expression];
        for (const ref of refs) expect(refIds.indexOf(ref), `${q.refId} refers to ${ref}`).toBeLessThan(refIds.indexOf(q.refId));
        if (m.type === 'reduce') expect(['last', 'max', 'min', 'mean', 'sum', 'count']).toContain(m.reducer);
        // gt and lt: the evaluators Grafana 10.4 knows (gte, lte, eq came later).
        if (m.type === 'threshold') expect(m.conditions!.map((c) => c.evaluator.type).every((t) => t === 'gt' || t === 'lt')).toBe(true);
      }
      const condition = r.data.find((q) => q.refId === r.condition)!.model as { type?: string };
      expect(['threshold', 'math']).toContain(condition.type);
    });

    it('says in a summary and a description which host, with labels that exist', () => {
      expect(r.annotations.summary).toContain('{{ $labels.hostname }}');
      expect(r.annotations.description.length).toBeGreaterThan(40);
      const query = r.data.filter((q) => q.datasourceUid !== '__expr__').map((q) => (q.model as { query: string }).query).join(' ');
      for (const m of `${r.annotations.summary} ${r.annotations.description}`.matchAll(/\$labels\.(\w+)/g)) expect(query, `label ${m[1]}`).toContain(`"${m[1]}"`);
      for (const m of `${r.annotations.summary} ${r.annotations.description}`.matchAll(/\$values\.(\w+)/g)) expect(refIds).toContain(m[1]);
      expect(r.labels).toMatchObject({ service: 'machmon' });
      expect(['critical', 'warning']).toContain(r.labels.severity);
    });
  });

  it('keeps the thresholds the issue asks for', () => {
    const byUid = new Map(rules.map((r) => [r.uid, r]));
    expect(byUid.get('machmon-host-offline')!.for).toBe('2m');
    expect(THRESHOLDS.temperature.celsius).toBe(80);
    expect(byUid.get('machmon-temperature-high')!.for).toBe('5m');
    expect(THRESHOLDS.partition.percent).toBe(90);
    expect(THRESHOLDS.outbox.ageMs).toBe(300_000);
    expect(THRESHOLDS.ingestor.windowSeconds).toBe(600);
    for (const t of Object.values(THRESHOLDS)) if (typeof t === 'object') expect(t.why.length).toBeGreaterThan(40);
  });

  it('are documented in the README, with the file Grafana reads', () => {
    const text = readmeSection('Alerts');
    expect(text).toContain(path.relative(path.resolve(ALERTING_DIR, '../../..'), ALERT_RULES_PATH));
    for (const r of rules) expect(text, r.title).toContain(r.title);
  });
});
