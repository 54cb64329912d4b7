// `machmon forget <host>...`: removes retired hosts from what the broker keeps (README "Home
// Assistant", "Removing a host"): the retained machmon/<host>/status (so Grafana's "Host offline"
// and machmon top forget it too) and, in Home Assistant, the host's device: every retained
// discovery config found on <discoveryPrefix>/+/<nodeId>/+/config and the device config, and its
// state and availability topics, each replaced by an empty retained message. It logs in as the
// ingestor does (the ingestor section: a reader). A running ingestor's bridge sees the cleared
// status and forgets the host as well; a host that is still running comes back with its next reading.
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { readPemFile } from '../common/config.js';
import { DEFAULT_DISCOVERY_PREFIX, DEFAULT_STATE_PREFIX, deviceConfigTopic, hostConfigFilter, hostStateFilter, hostStatusTopic, type HaPrefixes } from '../common/home-assistant.js';
import { statusTopic } from '../common/topics.js';
import type { IngestorConfig } from '../ingestor/config.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Retained messages arrive right after SUBACK; this long without a new one ends the collection. */
const QUIET_MS = 500;

export interface ForgetResult {
  host: string;
  /** Topics whose retained message was deleted. */
  cleared: string[];
}

export async function forgetHosts(cfg: IngestorConfig, hosts: readonly string[]): Promise<ForgetResult[]> {
  const prefixes: HaPrefixes = { discoveryPrefix: cfg.homeAssistant?.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX, statePrefix: cfg.homeAssistant?.statePrefix ?? DEFAULT_STATE_PREFIX };
  const client = await mqtt.connectAsync(cfg.brokerUrl, {
    clientId: `machmon-forget-${randomBytes(4).toString('hex')}`,
    username: cfg.username,
    password: cfg.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(cfg.caFile ? { ca: readPemFile('ingestor.caFile', cfg.caFile) } : {}),
  });
  const results: ForgetResult[] = [];
  try {
    for (const host of hosts) {
      const found = new Set<string>();
      let last = Date.now();
      const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
        if (packet.retain && payload.length > 0) found.add(topic);
        last = Date.now();
      };
      client.on('message', onMessage);
      const filters = [hostConfigFilter(prefixes, host), deviceConfigTopic(prefixes, host), hostStateFilter(prefixes, host)];
      // Without broker.homeAssistant the broker refuses these (SUBACK 128): then there is only the status to clear.
      const granted = await client.subscribeAsync(filters, { qos: 1 }).catch((err: { packet?: { granted?: number[] } }) => err.packet?.granted?.map((qos) => ({ qos })) ?? []);
      last = Date.now();
      while (Date.now() - last < QUIET_MS) await sleep(50);
      client.off('message', onMessage);
      await client.unsubscribeAsync(filters).catch(() => undefined);
      const topics = [statusTopic(host), ...(granted.some((g) => g.qos !== 128) ? [hostStatusTopic(prefixes, host)] : []), ...[...found].sort()];
      const cleared = [...new Set(topics)];
      for (const topic of cleared) await client.publishAsync(topic, '', { qos: 1, retain: true });
      results.push({ host, cleared });
    }
  } finally {
    await client.endAsync();
  }
  return results;
}

export async function runForget(cfg: IngestorConfig, hosts: readonly string[]): Promise<number> {
  if (hosts.length === 0) {
    console.error('machmon forget: name the hosts to forget: machmon forget <hostname>...');
    return 2;
  }
  try {
    for (const r of await forgetHosts(cfg, hosts)) console.log(`${r.host}: cleared ${r.cleared.length} retained topics (${r.cleared.join(', ')})`);
    return 0;
  } catch (err) {
    console.error(`machmon forget: ${(err as Error).message} (the ingestor section's login: ingestor.brokerUrl, .username, .password)`);
    return 1;
  }
}
