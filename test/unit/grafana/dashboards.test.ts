// Static checks of grafana/dashboards/*.json: well-formed for Grafana, laid out without
// overlap, and every query names measurements, fields and tags that the ingestor writes.
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../common/schema.js';
import { staleDashboards } from '../../../grafana/build-dashboards.js';
import { INGESTOR_MEASUREMENTS } from '../../../ingestor/measurements.js';
import { CATALOG } from './catalog.js';
import { allPanels, loadDashboards, panelQueries, queryRefs, referencedVariables, variableQuery, type Panel } from '../../../testkit/dashboard-model.js';

const DATASOURCE_UID = 'machmon-influxdb';
const dashboards = loadDashboards();

/** Grafana unit expected for a schema unit when a panel shows the value as it is stored. */
const GRAFANA_UNIT: Record<string, string> = {
  kilobytes: 'kbytes',
  kilobytes_per_second: 'KiBs',
  percent: 'percent',
  percent_of_cpu: 'percent',
  milliseconds: 'ms',
  signed_milliseconds: 'ms',
  celsius: 'celsius',
  bytes: 'bytes',
  kilohertz: 'rotkhz',
  dbm: 'dBm',
  rpm: 'rotrpm',
  megabits_per_second: 'Mbits',
};
/** Functions whose result no longer has the field's unit (rates, counts). */
const UNIT_CHANGING = /^(non_negative_)?(derivative|difference)$|^count$/;

/** Fields deliberately not shown, with the reason. */
/** Measurements of the ingestor and the broker themselves. */
const SERVER_MEASUREMENTS = new Set(['MachmonIngestor', 'MachmonBroker']);

const NOT_SHOWN: Record<string, string> = {
  'Disk.identificatorName': 'always "total"',
  'Partitions.mountPoint': 'the same as the mount tag, which the tables show',
  'IoRatio.deviceName': 'the same as the device tag',
  'NetworkMetrics.networkCardName': 'the same as the interface tag',
  'Logs.nameHost': 'the host the dashboard is filtered on',
  'Status.retained': 'only tells a replayed retained status from a fresh one',
  'Status.status': 'the same as online, as text',
};

interface SelectItem { fn?: string; field: string; alias?: string }
/** Items of the SELECT list: fn("field") AS "alias", "field" AS "alias", 100 - mean("field")... */
function selectItems(query: string): SelectItem[] {
  const list = /^SELECT (.+?) FROM /is.exec(query.trim())?.[1] ?? '';
  return list.split(/,(?![^(]*\))/).map((item) => {
    const fn = /([a-z_]+)\(\s*"/i.exec(item)?.[1];
    const field = /"([^"]+)"/.exec(item.replace(/\bAS "[^"]+"/i, ''))?.[1] ?? '';
    const alias = /\bAS "([^"]+)"/i.exec(item)?.[1];
    // nested call, e.g. non_negative_derivative(max("x")): the outer function counts
    const outer = /^\s*([a-z_]+)\(/i.exec(item)?.[1];
    return { fn: outer ?? fn, field, alias };
  });
}

function overrideValue(panel: Panel, name: string | undefined, property: string): unknown {
  if (!name) return undefined;
  for (const o of panel.fieldConfig?.overrides ?? []) {
    if (o.matcher.id === 'byName' && o.matcher.options === name) {
      const p = o.properties.find((x) => x.id === property);
      if (p) return p.value;
    }
  }
  return undefined;
}

describe('grafana dashboards', () => {
  it('are found and have distinct uids and titles', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['machmon-fleet.json', 'machmon-host.json']);
    expect(new Set(dashboards.map((d) => d.model.uid)).size).toBe(dashboards.length);
    expect(new Set(dashboards.map((d) => d.model.title)).size).toBe(dashboards.length);
  });

  it('are what grafana/build-dashboards.ts writes (npm run dashboards)', () => {
    expect(staleDashboards()).toEqual([]);
  });

  it('read the ingestor\'s own measurements under the names it writes them', () => {
    for (const m of Object.values(INGESTOR_MEASUREMENTS)) {
      const written = CATALOG.get(m.measurement);
      expect(written, m.measurement).toBeDefined();
      expect(Object.fromEntries([...written!.fields].map(([f, { kind }]) => [f, kind])), m.measurement).toEqual(m.fields);
      expect([...written!.tags].sort(), m.measurement).toEqual([...m.tags].sort());
    }
  });

  describe.each(dashboards)('$file', ({ model }) => {
    const panels = allPanels(model);
    const queries = panelQueries(model);

    it('has unique panel ids', () => {
      const ids = panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('gives every panel the Machmon data source and a gridPos inside 24 columns', () => {
      for (const p of panels) {
        expect(p.datasource, `panel ${p.id} "${p.title}"`).toEqual({ type: 'influxdb', uid: DATASOURCE_UID });
        const g = p.gridPos!;
        expect(g, `panel ${p.id} "${p.title}" gridPos`).toBeDefined();
        for (const k of ['x', 'y', 'w', 'h'] as const) expect(Number.isInteger(g[k]), `panel ${p.id} gridPos.${k}`).toBe(true);
        expect(g.w).toBeGreaterThan(0);
        expect(g.h).toBeGreaterThan(0);
        expect(g.x).toBeGreaterThanOrEqual(0);
        expect(g.y).toBeGreaterThanOrEqual(0);
        expect(g.x + g.w, `panel ${p.id} "${p.title}" exceeds 24 columns`).toBeLessThanOrEqual(24);
        for (const t of p.targets ?? []) expect(t.datasource ?? p.datasource).toEqual({ type: 'influxdb', uid: DATASOURCE_UID });
      }
    });

    it('has no overlapping panels', () => {
      const boxes = panels.map((p) => ({ p, g: p.gridPos! }));
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!.g;
          const b = boxes[j]!.g;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `panels ${boxes[i]!.p.id} "${boxes[i]!.p.title}" and ${boxes[j]!.p.id} "${boxes[j]!.p.title}" overlap`).toBe(false);
        }
      }
    });

    it('gives every panel except rows a raw InfluxQL query', () => {
      for (const p of panels) {
        if (p.type === 'row') continue;
        expect(p.targets?.length, `panel ${p.id} "${p.title}" has no query`).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
        for (const t of p.targets!) {
          expect(t.rawQuery, `panel ${p.id} ${t.refId}`).toBe(true);
          expect(t.query, `panel ${p.id} ${t.refId}`).toMatch(/^SELECT /);
          expect(['time_series', 'table']).toContain(t.resultFormat);
        }
      }
    });

    it('defines every variable its queries and links use', () => {
      const defined = new Set(model.templating.list.map((v) => v.name));
      const texts = [
        ...queries.map((q) => q.query),
        ...model.templating.list.map(variableQuery),
        ...panels.flatMap((p) => JSON.stringify(p.fieldConfig ?? {})),
        JSON.stringify(model.links ?? []),
      ];
      for (const text of texts) for (const name of referencedVariables(text)) expect(defined, `$${name} in ${text.slice(0, 120)}`).toContain(name);
      for (const v of model.templating.list) {
        expect(v.datasource).toEqual({ type: 'influxdb', uid: DATASOURCE_UID });
        expect(variableQuery(v)).toBe('SHOW TAG VALUES WITH KEY = "hostname"');
      }
    });

    it('names only measurements, fields and tags that the ingestor writes', () => {
      for (const q of queries) {
        const where = `panel ${q.panel.id} "${q.panel.title}" ${q.refId}: ${q.query}`;
        const refs = queryRefs(q.query);
        expect(refs.measurements.length, where).toBe(1);
        const info = CATALOG.get(refs.measurements[0]!);
        expect(info, `unknown measurement in ${where}`).toBeDefined();
        for (const f of refs.selected) expect(info!.fields.has(f) || info!.tags.has(f), `unknown field "${f}" in ${where}`).toBe(true);
        for (const t of refs.filtered) expect(info!.tags.has(t) || info!.fields.has(t), `unknown tag "${t}" in ${where}`).toBe(true);
        // Hosts are filtered by the variable, except for the ingestor's own metrics.
        // The server's own measurements are tagged with the server's machine, not a fleet host: no host filter.
        if (info!.tags.has('hostname') && !SERVER_MEASUREMENTS.has(refs.measurements[0]!)) expect(q.query, where).toContain('"hostname" =~ /^$hostname$/');
      }
    });

    it('shows every value with the unit of its field, and thresholds on temperature and disk usage', () => {
      for (const q of queries) {
        const p = q.panel;
        const info = CATALOG.get(queryRefs(q.query).measurements[0]!)!;
        for (const item of selectItems(q.query)) {
          const unit = info.fields.get(item.field)?.unit;
          const where = `panel ${p.id} "${p.title}" field ${item.field}`;
          if (item.fn && UNIT_CHANGING.test(item.fn)) {
            expect(p.fieldConfig?.defaults?.unit, where).toBeTruthy();
            continue;
          }
          const expected = unit ? GRAFANA_UNIT[unit] : undefined;
          const shown = overrideValue(p, item.alias, 'unit') ?? overrideValue(p, item.field, 'unit') ?? (p.type === 'table' ? undefined : p.fieldConfig?.defaults?.unit);
          if (expected) expect(shown, where).toBe(expected);
          if (item.field === 'degrees' || item.field === 'usagePercentDisk') {
            const th = (overrideValue(p, item.alias, 'thresholds') ?? p.fieldConfig?.defaults?.thresholds) as { steps: unknown[] } | undefined;
            expect(th?.steps.length, `${where}: thresholds`).toBeGreaterThan(1);
          }
        }
        if (p.type !== 'table') expect(p.fieldConfig?.defaults?.unit, `panel ${p.id} "${p.title}" has no unit`).toBeTruthy();
      }
    });
  });

  it('link to each other', () => {
    const uids = dashboards.map((d) => d.model.uid);
    for (const { model } of dashboards) {
      const targets = (model.links ?? []).map((l) => /\/d\/([\w-]+)/.exec(l.url ?? '')?.[1]);
      for (const other of uids.filter((u) => u !== model.uid)) expect(targets, `${model.uid} links to ${other}`).toContain(other);
    }
    // Hostname cells of the fleet dashboard open the host dashboard for that host.
    const fleet = dashboards.find((d) => d.model.uid === 'machmon-fleet')!.model;
    const cellLinks = JSON.stringify(fleet.panels.map((p) => p.fieldConfig?.overrides ?? []));
    expect(cellLinks).toContain('/d/machmon-host/machmon-host?var-hostname=${__value.raw}');
  });

  it('show every metric group on the host dashboard and every field somewhere', () => {
    const host = dashboards.find((d) => d.model.uid === 'machmon-host')!.model;
    const hostMeasurements = new Set(panelQueries(host).flatMap((q) => queryRefs(q.query).measurements));
    for (const spec of METRICS.values()) expect(hostMeasurements, `host dashboard lacks ${spec.measurement}`).toContain(spec.measurement);

    const shown = new Set(dashboards.flatMap((d) => panelQueries(d.model)).flatMap((q) => {
      const r = queryRefs(q.query);
      return r.selected.map((f) => `${r.measurements[0]}.${f}`);
    }));
    const missing: string[] = [];
    for (const [measurement, info] of CATALOG) {
      if (measurement === 'MachmonIngestor') continue; // only the rejection counts are for dashboards
      for (const f of info.fields.keys()) if (!shown.has(`${measurement}.${f}`) && !NOT_SHOWN[`${measurement}.${f}`]) missing.push(`${measurement}.${f}`);
    }
    expect(missing).toEqual([]);
  });
});
