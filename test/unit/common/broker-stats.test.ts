// machmon/$broker/stats as the ingestor reads it (README "Self-metrics"): figures encoded by the
// broker come back as they were; anything else on the topic is refused with a reason, never
// written; the points are MachmonBroker's, one with the figures and one per refusal reason.
import { describe, expect, it } from 'vitest';
import { decodeBrokerStats, encodeBrokerStats, type BrokerStats } from '../../../common/broker-stats.js';
import { PayloadError } from '../../../common/errors.js';
import { BROKER_STATS_TOPIC, parseTopic } from '../../../common/topics.js';
import { route } from '../../../ingestor/router.js';

const stats: BrokerStats = { hostname: 'srv-1', timeMs: 1_700_000_000_000, figures: { connections: 3, connectionsAgents: 2, publishesReceived: 10, rssBytes: 50_000_000 }, refused: { bad_password: 2 } };

describe('machmon/$broker/stats', () => {
  it('is its own kind of topic; other topics under $broker are refused', () => {
    expect(parseTopic(BROKER_STATS_TOPIC)).toEqual({ kind: 'brokerStats' });
    expect(() => parseTopic('machmon/$broker/cpu')).toThrow(/the broker publishes only machmon\/\$broker\/stats/);
  });

  it('round-trips, and ignores keys a newer broker may add', () => {
    expect(decodeBrokerStats(encodeBrokerStats(stats))).toEqual(stats);
    const newer = Buffer.from(JSON.stringify({ ...JSON.parse(encodeBrokerStats(stats).toString()), somethingNew: 'x' }));
    expect(decodeBrokerStats(newer)).toEqual(stats);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['an array', '[1]', /not a JSON object/],
    ['no hostname', JSON.stringify({ timeMs: 1 }), /"hostname" is not a hostname/],
    ['a hostname with a space', JSON.stringify({ hostname: 'a b', timeMs: 1 }), /"hostname"/],
    ['no time', JSON.stringify({ hostname: 'srv' }), /"timeMs"/],
    ['a negative figure', JSON.stringify({ hostname: 'srv', timeMs: 1, connections: -1 }), /"connections" is not a non-negative integer/],
    ['a fractional figure', JSON.stringify({ hostname: 'srv', timeMs: 1, bytesSent: 1.5 }), /"bytesSent"/],
    ['a string figure', JSON.stringify({ hostname: 'srv', timeMs: 1, logins: '3' }), /"logins"/],
    ['a reason that is not one', JSON.stringify({ hostname: 'srv', timeMs: 1, refused: { 'a b': 1 } }), /not a reason/],
    ['a refusal count that is not one', JSON.stringify({ hostname: 'srv', timeMs: 1, refused: { bad_password: 'x' } }), /refused\.bad_password/],
  ])('refuses %s', (_what, payload, message) => {
    const err = (() => {
      try {
        decodeBrokerStats(Buffer.from(payload));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PayloadError);
    expect((err as PayloadError).reason).toBe('broker_stats');
    expect((err as PayloadError).message).toMatch(message);
  });

  it('routes to MachmonBroker points, marked as self-metrics', () => {
    const r = route({ topic: BROKER_STATS_TOPIC, payload: encodeBrokerStats(stats), receivedAtMs: 0 });
    expect(r).toEqual({
      kind: 'points',
      host: 'srv-1',
      self: true,
      lines: [
        'MachmonBroker,hostname=srv-1 connections=3i,connectionsAgents=2i,publishesReceived=10i,rssBytes=50000000i 1700000000000',
        'MachmonBroker,hostname=srv-1,reason=bad_password refused=2i 1700000000000',
      ],
    });
    const bad = route({ topic: BROKER_STATS_TOPIC, payload: Buffer.from('{}'), receivedAtMs: 0 });
    expect(bad.kind === 'rejected' && bad.error.reason).toBe('broker_stats');
  });
});

describe('readers other than the ingestor', () => {
  it('machmon top shows no host for the broker\'s figures', async () => {
    const { Fleet } = await import('../../../cli/top-model.js');
    const f = new Fleet();
    expect(f.take(BROKER_STATS_TOPIC, encodeBrokerStats(stats), 1000)).toBeUndefined();
    expect(f.rows(1000)).toEqual([]);
  });
});
