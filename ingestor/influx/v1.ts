// InfluxDB 1.x: the v1 /write API and InfluxQL over /query (Debian's influxdb 1.6 is the
// test target). Credentials go in a Basic Authorization header, which 1.x accepts like
// the u/p query parameters but which never ends up in a logged URL.
import type { InfluxConfig } from '../config.js';
import { countRefused, describeFetchError, InfluxUnavailableError, isDataRefusal, type InfluxWriter, type LineBatch, type WriteResult } from './types.js';

/** InfluxQL identifier in double quotes. */
export const quoteIdent = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export class InfluxV1Writer implements InfluxWriter {
  readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly writePath: string;

  constructor(private readonly cfg: InfluxConfig) {
    this.url = cfg.url.replace(/\/+$/, '');
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (cfg.username) this.headers.authorization = `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64')}`;
    this.writePath = `${this.url}/write?${new URLSearchParams({ db: cfg.database, rp: cfg.retentionPolicy, precision: 'ms' })}`;
  }

  private async call(url: string, body: string | Buffer, what: string): Promise<Response> {
    try {
      return await fetch(url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.cfg.timeoutMs) });
    } catch (err) {
      throw new InfluxUnavailableError(`${what ? `${what}: ` : ''}${describeFetchError(err, this.cfg.timeoutMs)}`, { cause: err });
    }
  }

  async setup(): Promise<void> {
    const db = quoteIdent(this.cfg.database);
    await this.influxql(`CREATE DATABASE ${db}`);
    const series = await this.influxql(`SHOW RETENTION POLICIES ON ${db}`);
    const names = series.flatMap((s) => s.values.map((v) => v[s.columns.indexOf('name')]));
    if (!names.includes(this.cfg.retentionPolicy)) {
      await this.influxql(`CREATE RETENTION POLICY ${quoteIdent(this.cfg.retentionPolicy)} ON ${db} DURATION ${this.cfg.retentionDuration} REPLICATION 1 DEFAULT`);
    }
  }

  /** Runs one InfluxQL statement (POST /query); returns the first result's series. */
  async influxql(q: string): Promise<{ columns: string[]; values: unknown[][] }[]> {
    const r = await this.call(`${this.url}/query?${new URLSearchParams({ q })}`, '', q.split(' ').slice(0, 2).join(' '));
    const text = await r.text();
    if (!r.ok) throw new InfluxUnavailableError(`${q}: HTTP ${r.status} ${text.trim().slice(0, 300)}`);
    let body: { results?: { error?: string; series?: { columns: string[]; values?: unknown[][] }[] }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new InfluxUnavailableError(`${q}: the answer is not InfluxDB's JSON (is this InfluxDB?): ${text.trim().slice(0, 120)}`);
    }
    if (!body || !Array.isArray(body.results)) throw new InfluxUnavailableError(`${q}: the answer has no "results" list (is this InfluxDB?): ${text.trim().slice(0, 120)}`);
    const res = body.results[0];
    if (res?.error) throw new InfluxUnavailableError(`${q}: ${res.error}`);
    return (res?.series ?? []).map((s) => ({ columns: s.columns, values: s.values ?? [] }));
  }

  async write(batch: LineBatch): Promise<WriteResult> {
    if (batch.points === 0) return { refusedLines: 0 };
    const r = await this.call(this.writePath, batch.body, '');
    if (r.status === 204) {
      await r.arrayBuffer();
      return { refusedLines: 0 };
    }
    const text = (await r.text()).trim();
    // InfluxDB answers a stored write with 204 and nothing else: any other 2xx is something
    // that is not InfluxDB (a proxy page, another service on the port) and proves nothing.
    if (r.status >= 200 && r.status < 300) {
      throw new InfluxUnavailableError(`HTTP ${r.status} instead of InfluxDB's 204 (is this InfluxDB?): ${text.slice(0, 120)}`);
    }
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch { /* not JSON */ }
    if (isDataRefusal(r.status)) return { refusedLines: Math.min(batch.points, countRefused(message)), refusal: message.slice(0, 2000) };
    const needsSetup = r.status === 404 || /database not found|retention policy not found/.test(message);
    throw new InfluxUnavailableError(`HTTP ${r.status} ${message.slice(0, 300)}`, { needsSetup });
  }
}
