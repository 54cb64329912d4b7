// The dashboards' typed names: what a (source, field) pair resolves to, and that a name the
// schema lacks stops the build instead of leaving a panel silently empty.
import { describe, expect, it } from 'vitest';
import { field, measurement, tag } from '../../../grafana/measurements.js';

describe('grafana measurements', () => {
  it('resolve a proto field to its measurement, InfluxDB name and unit', () => {
    expect(field('cpu', 'userPercent')).toEqual({ measurement: 'Cpu', name: 'userPercentage', unit: 'percent' });
    expect(field('networkMetrics', 'rxPackets')).toEqual({ measurement: 'NetworkMetrics', name: 'RXPackages', unit: 'count' });
    expect(field('partitions', 'mountPoint').name).toBe('mountPoint');
    expect(tag('partitions', 'mount')).toBe('mount');
    expect(tag('process', 'rank')).toBe('rank');
  });

  it('resolve the ingestor\'s own measurements', () => {
    expect(measurement('status')).toBe('Status');
    expect(measurement('ingestor')).toBe('MachmonIngestor');
    expect(field('ingestor', 'rejected')).toEqual({ measurement: 'MachmonIngestor', name: 'rejected' });
    expect(tag('ingestor', 'reason')).toBe('reason');
  });

  it('throw on names the schema lacks (a type error too)', () => {
    // @ts-expect-error the InfluxDB name, not the field's name in the code
    expect(() => field('cpu', 'userPercentage')).toThrow('cpu has no field "userPercentage"');
    // @ts-expect-error a tag only, not stored as a field
    expect(() => field('temperature', 'sensor')).toThrow('temperature has no field "sensor"');
    // @ts-expect-error no such group
    expect(() => measurement('cpus')).toThrow('no metric group or ingestor measurement "cpus"');
    // @ts-expect-error Status has no reason tag
    expect(() => tag('status', 'reason')).toThrow('status has no tag "reason"');
  });
});
