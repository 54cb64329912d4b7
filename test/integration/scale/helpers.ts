import { expect } from 'vitest';
import type { LoadResult } from '../../../bench/load.js';
import { metricSpec, type MetricName } from '../../../common/schema.js';
import { influxQuery } from '../../../testkit/influxd.js';

/** Every measurement holds exactly the points the load generator sent: none lost, none twice. */
export async function expectStoredAsSent(influxUrl: string, db: string, r: Pick<LoadResult, 'sentByMetric'>): Promise<void> {
  for (const [metric, s] of Object.entries(r.sentByMetric)) {
    const res = await influxQuery(influxUrl, db, `SELECT count(*) FROM "${metricSpec(metric as MetricName).measurement}"`);
    const counts = res.series?.[0]?.values[0]?.slice(1).map(Number) ?? [0];
    expect(Math.max(...counts), metric).toBe(s.points);
  }
}
