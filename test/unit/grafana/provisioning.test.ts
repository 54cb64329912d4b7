// The provisioning files parse, the data source is the one every panel refers to, and the
// dashboards provider points where deploy/docker-compose.yml puts the dashboards.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readmeSection } from '../../../testkit/readme.js';
import { allPanels, DASHBOARD_DIR, GRAFANA_DIR, loadDashboards } from '../../../testkit/dashboard-model.js';

const REPO = path.resolve(GRAFANA_DIR, '..');
const readYaml = (file: string) => parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

interface DatasourceFile { apiVersion: number; datasources: { name: string; uid: string; type: string; access: string; url: string; user?: string; isDefault?: boolean; jsonData: Record<string, unknown>; secureJsonData?: Record<string, string> }[] }
interface ProviderFile { apiVersion: number; providers: { name: string; type: string; folder?: string; options: { path: string } }[] }

const datasources = readYaml(path.join(GRAFANA_DIR, 'provisioning/datasources/machmon.yaml')) as unknown as DatasourceFile;
const providers = readYaml(path.join(GRAFANA_DIR, 'provisioning/dashboards/machmon.yaml')) as unknown as ProviderFile;
/** Where the container sees grafana/dashboards and grafana/provisioning. */
const CONTAINER_DASHBOARDS = '/var/lib/grafana/dashboards';
const CONTAINER_PROVISIONING = '/etc/grafana/provisioning';

describe('grafana provisioning', () => {
  it('has exactly the provisioning files Grafana reads', () => {
    expect(readdirSync(path.join(GRAFANA_DIR, 'provisioning')).sort()).toEqual(['alerting', 'dashboards', 'datasources']);
    expect(readdirSync(path.join(GRAFANA_DIR, 'provisioning/datasources'))).toEqual(['machmon.yaml']);
    expect(readdirSync(path.join(GRAFANA_DIR, 'provisioning/dashboards'))).toEqual(['machmon.yaml']);
  });

  it('defines one InfluxQL data source with the uid the dashboards use, configured from the environment', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toHaveLength(1);
    const ds = datasources.datasources[0]!;
    expect(ds).toMatchObject({ uid: 'machmon-influxdb', type: 'influxdb', access: 'proxy', url: '${INFLUX_URL}', user: '${INFLUX_USER}' });
    expect(ds.jsonData).toMatchObject({ version: 'InfluxQL', dbName: '${INFLUX_DB}' });
    expect(ds.secureJsonData).toEqual({ password: '${INFLUX_PASSWORD}' });
    // The minimum interval is the agents' default sampling interval.
    expect(ds.jsonData.timeInterval).toBe('10s');

    const uids = new Set(loadDashboards().flatMap(({ model }) => [
      ...allPanels(model).flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]),
      ...model.templating.list.map((v) => v.datasource?.uid),
    ]));
    expect([...uids]).toEqual(['machmon-influxdb']);
  });

  it('documents every environment variable the data source reads', () => {
    const text = readFileSync(path.join(GRAFANA_DIR, 'provisioning/datasources/machmon.yaml'), 'utf8');
    const used = [...new Set([...text.matchAll(/^[^#\n]*\$\{?([A-Z_]+)\}?/gm)].map((m) => m[1]!))];
    expect(used.sort()).toEqual(['INFLUX_DB', 'INFLUX_PASSWORD', 'INFLUX_URL', 'INFLUX_USER']);
    const readme = readmeSection('Dashboards (Grafana)');
    for (const v of used) expect(readme, `README "Dashboards (Grafana)" documents ${v}`).toContain(`\`${v}\``);
  });

  it('loads the dashboards folder from where the container mounts grafana/dashboards', () => {
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toHaveLength(1);
    const p = providers.providers[0]!;
    expect(p.type).toBe('file');
    expect(p.options.path).toBe(CONTAINER_DASHBOARDS);
    expect(readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).length).toBeGreaterThan(0);
  });

  it('matches the Grafana service of deploy/docker-compose.yml', () => {
    const composeFile = path.join(REPO, 'deploy/docker-compose.yml');
    expect(existsSync(composeFile), 'deploy/docker-compose.yml is missing').toBe(true);
    const compose = readYaml(composeFile) as { services: Record<string, { image?: string; volumes?: (string | { source: string; target: string })[]; environment?: Record<string, string> | string[] }> };
    const grafana = Object.values(compose.services).find((s) => /grafana\//.test(s.image ?? ''));
    expect(grafana, 'a service runs a grafana/* image').toBeDefined();
    const mounts = new Map((grafana!.volumes ?? []).map((v) => {
      if (typeof v !== 'string') return [path.resolve(path.dirname(composeFile), v.source), v.target] as const;
      const [src, target] = v.split(':');
      return [path.resolve(path.dirname(composeFile), src!), target!] as const;
    }));
    expect(mounts.get(path.join(GRAFANA_DIR, 'provisioning'))).toBe(CONTAINER_PROVISIONING);
    expect(mounts.get(path.join(GRAFANA_DIR, 'dashboards'))).toBe(CONTAINER_DASHBOARDS);
    const env = Array.isArray(grafana!.environment)
      ? Object.fromEntries(grafana!.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
      : (grafana!.environment ?? {});
    for (const v of ['INFLUX_URL', 'INFLUX_DB', 'INFLUX_USER', 'INFLUX_PASSWORD']) expect(Object.keys(env), `the grafana service sets ${v}`).toContain(v);
  });
});
