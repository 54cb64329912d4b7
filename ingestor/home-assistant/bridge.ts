// The ingestor's bridge to Home Assistant (README "Home Assistant"): it takes the readings the
// ingestor has already decoded and validated and publishes, on a connection of its own (so it
// has its own Last Will and works on any broker, Mosquitto included):
//   - one retained discovery config per entity (entities.ts), sent when an entity is first
//     seen, again when the device block changes (board model, agent version), and again after
//     Home Assistant's birth message ("online" on <discoveryPrefix>/status) after a random delay;
//   - one retained JSON state per host (every group's entities, and each group's sample time),
//     at most every stateMinIntervalMs, the readings of a moment coalesced into one message
//     (a message per reading cost more than decoding it), from the newest reading of each
//     group only (a replayed backlog never shows old values as current);
//   - availability: its own (Last Will "offline"), each host's (a copy of the agent's retained
//     machmon/<host>/status, read on this connection) and each group's ("offline" once the
//     group's readings stop for unavailableAfterIntervals of its intervals), so a failed read
//     or a dead Pi shows "unavailable", never a stale or invented value;
//   - `machmon forget` deletes a host's retained status: the bridge then deletes the host's
//     configs, states and availability (empty retained messages) and forgets it.
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../common/log.js';
import { endClient } from '../../common/mqtt-end.js';
import { birthTopic, bridgeStatusTopic, under, deviceConfigTopic, groupAvailabilityTopic, hostStateTopic, hostStatusTopic, type HaPrefixes } from '../../common/home-assistant.js';
import type { Header, MetricName } from '../../common/schema.js';
import { parseTopic, statusTopic } from '../../common/topics.js';
import type { IngestorConfig } from '../config.js';
import { deviceBlock, deviceConfig, entityConfig, type DeviceFacts, type DiscoveryOptions, type Json } from './discovery.js';
import { entitiesOf, type EntityInstance } from './entities.js';

export type HomeAssistantConfig = NonNullable<IngestorConfig['homeAssistant']>;

/** Until two readings of a group tell its interval, it is taken to be this (the longest default interval is 30 s). */
const UNKNOWN_INTERVAL_MS = 60_000;
/** Intervals remembered per group; the median is the group's interval. */
const INTERVALS_KEPT = 7;
/** Slack on top of the missed intervals: delivery and the ingestor's own pace. */
const STALE_SLACK_MS = 2000;
const SWEEP_EVERY_MS = 1000;
/** The groups of one agent tick arrive within a few hundred ms: their state goes out together this long after the first. */
const COALESCE_MS = 1000;

interface GroupState {
  readonly intervals: number[];
  lastSampleMs: number;
  /** Taken over "online" from the broker's retained availability at start, before any reading of this run: stale from then on unless readings come. */
  restoredAtMs?: number;
  available?: boolean;
  /** Every entity key of the group seen so far: absent rows become null, never a missing key. */
  readonly keys: Set<string>;
}

interface HostState {
  readonly groups: Map<MetricName, GroupState>;
  readonly entities: Map<string, EntityInstance>;
  readonly taken: Map<string, string>;
  facts: DeviceFacts;
  deviceJson?: string;
  status?: string;
  /** The state JSON's content: every entity's value, and the sample time of each group. */
  readonly values: Record<string, Json>;
  readonly times: Record<string, string>;
  publishedState?: string;
  lastPublishMs: number;
  timer?: NodeJS.Timeout;
}

export interface BridgeLogin {
  brokerUrl: string;
  username: string;
  password: string;
  clientId: string;
  ca?: Buffer;
}

export interface HomeAssistantBridge {
  readonly client: MqttClient;
  /** Resolves once connected and subscribed the first time. */
  readonly ready: Promise<void>;
  /** A decoded, validated reading (ingestor/handlers/metric.ts). Never throws: a failure costs Home Assistant a value, never the reading its write (logged, counted). */
  reading(host: string, metric: MetricName, message: Record<string, unknown>, header: Header & { sampleTimeMs: number }): void;
  /** Readings the bridge failed on. */
  readonly failures: number;
  /** Hosts known, for tests and diagnostics. */
  hosts(): string[];
  stop(): Promise<void>;
}

/** A failing reading is logged at most this often; the rest are counted. */
const FAILURE_LOG_EVERY_MS = 10_000;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function startHomeAssistantBridge(cfg: HomeAssistantConfig, login: BridgeLogin, version: string, rootLog: Logger, now: () => number = Date.now): HomeAssistantBridge {
  const log = rootLog.child({ component: 'home-assistant' });
  const prefixes: HaPrefixes = { discoveryPrefix: cfg.discoveryPrefix, statePrefix: cfg.statePrefix };
  const opts: DiscoveryOptions = { ...prefixes, version, configurationUrl: cfg.configurationUrl };
  const hosts = new Map<string, HostState>();
  const client = mqtt.connect(login.brokerUrl, {
    clientId: login.clientId,
    username: login.username,
    password: login.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(login.ca ? { ca: login.ca } : {}),
    will: { topic: bridgeStatusTopic(prefixes), payload: Buffer.from('offline'), qos: 1, retain: true },
  });

  // While the socket is full (discovery of a whole fleet at once) messages wait here, in
  // order, instead of each leaving a 'drain' listener inside MQTT.js.
  const waiting: [string, string, 0 | 1][] = [];
  let next = 0;
  const send = (topic: string, payload: string, qos: 0 | 1) =>
    client.publish(topic, payload, { qos, retain: true }, (err) => {
      if (err) log.debug({ err, topic }, 'not published');
    });
  const full = () => client.connected && !!(client.stream as { writableNeedDrain?: boolean } | undefined)?.writableNeedDrain;
  const pump = () => {
    while (next < waiting.length && !full()) {
      const [t, p, q] = waiting[next]!;
      waiting[next++] = undefined as never;
      send(t, p, q);
    }
    if (next < waiting.length) client.stream.once('drain', pump);
    else {
      waiting.length = 0;
      next = 0;
    }
  };
  const publish = (topic: string, payload: string, qos: 0 | 1 = 1) => {
    if (next === waiting.length && !full()) {
      send(topic, payload, qos);
      return;
    }
    waiting.push([topic, payload, qos]);
    if (waiting.length - next === 1) client.stream.once('drain', pump);
  };
  const publishJson = (topic: string, payload: Json) => publish(topic, JSON.stringify(payload));

  const staleAfterMs = (g: GroupState) => cfg.unavailableAfterIntervals * (g.intervals.length ? median(g.intervals) : UNKNOWN_INTERVAL_MS) + STALE_SLACK_MS;

  const publishConfigs = (host: string, h: HostState, only?: readonly EntityInstance[]) => {
    const device = deviceBlock(host, h.facts, opts);
    if (cfg.deviceDiscovery) {
      const c = deviceConfig(host, h.entities.values(), device, opts);
      publishJson(c.topic, c.payload);
      return;
    }
    for (const e of only ?? h.entities.values()) {
      const c = entityConfig(host, e, device, opts);
      publishJson(c.topic, c.payload);
    }
  };

  const publishState = (host: string, h: HostState) => {
    h.timer = undefined;
    h.lastPublishMs = now();
    h.publishedState = JSON.stringify({ ...h.values, sample_times: h.times });
    publish(hostStateTopic(prefixes, host), h.publishedState, 0);
  };

  const setAvailable = (host: string, group: MetricName, g: GroupState, available: boolean) => {
    if (g.available === available) return;
    g.available = available;
    publish(groupAvailabilityTopic(prefixes, host, group), available ? 'online' : 'offline');
    if (!available) log.info({ host, group }, 'group unavailable in Home Assistant: no readings');
  };

  const reading: HomeAssistantBridge['reading'] = (host, metric, message, header) => {
    const h = hostState(host);
    let g = h.groups.get(metric);
    if (!g) {
      g = { intervals: [], lastSampleMs: 0, keys: new Set() };
      h.groups.set(metric, g);
    }
    const t = header.sampleTimeMs;
    // Older than the newest one seen (a re-sent reading): it says nothing about now.
    if (t <= g.lastSampleMs) return;
    if (g.lastSampleMs > 0) {
      g.intervals.push(t - g.lastSampleMs);
      if (g.intervals.length > INTERVALS_KEPT) g.intervals.shift();
    }
    g.lastSampleMs = t;

    // Device facts: the agent's version from every header, the board from piHealth.
    const f = h.facts;
    const model = metric === 'piHealth' && typeof message.model === 'string' ? message.model : f.model;
    const revision = metric === 'piHealth' && typeof message.revision === 'string' ? message.revision : f.revision;
    const agentVersion = header.agentVersion || f.agentVersion;
    const system = header.system || f.system;
    let deviceJson = h.deviceJson;
    if (deviceJson === undefined || model !== f.model || revision !== f.revision || agentVersion !== f.agentVersion || system !== f.system) {
      h.facts = { model, revision, agentVersion, system };
      deviceJson = JSON.stringify(deviceBlock(host, h.facts, opts));
    }

    const instances = entitiesOf(metric, message, header, h.taken);
    const added: EntityInstance[] = [];
    const values: Record<string, Json> = {};
    for (const e of instances) {
      if (!h.entities.has(e.objectId)) {
        if (e.def.onlyWhenSet && e.value === null) continue;
        h.entities.set(e.objectId, e);
        added.push(e);
      }
      g.keys.add(e.objectId);
      values[e.objectId] = e.value;
    }
    if (deviceJson !== h.deviceJson) {
      // The device block changed (first reading, board model, agent update): every config again.
      h.deviceJson = deviceJson;
      if (h.entities.size) publishConfigs(host, h);
    } else if (added.length) {
      publishConfigs(host, h, added);
    }

    // A reading older than the group's staleness bound (a backlog replayed) is not shown as now.
    if (now() - t > staleAfterMs(g)) return;
    for (const k of g.keys) h.values[k] = k in values ? values[k]! : null;
    h.times[metric] = new Date(t).toISOString();
    setAvailable(host, metric, g, true);
    if (!h.timer) {
      const hh = h;
      const wait = Math.max(Math.min(COALESCE_MS, cfg.stateMinIntervalMs), h.lastPublishMs + cfg.stateMinIntervalMs - now());
      h.timer = setTimeout(() => publishState(host, hh), wait);
    }
  };

  const sweep = setInterval(() => {
    const t = now();
    for (const [host, h] of hosts) for (const [group, g] of h.groups) if (g.available && t - Math.max(g.lastSampleMs, g.restoredAtMs ?? 0) > staleAfterMs(g)) setAvailable(host, group, g, false);
  }, SWEEP_EVERY_MS);

  const hostState = (host: string): HostState => {
    let h = hosts.get(host);
    if (!h) {
      h = { groups: new Map(), entities: new Map(), taken: new Map(), facts: {}, values: {}, times: {}, lastPublishMs: 0 };
      hosts.set(host, h);
    }
    return h;
  };

  /** A group left "online" by an earlier run: it goes "offline" like any other unless its readings come (a group that failed while the ingestor was away). */
  const restoreAvailability = (topic: string, text: string) => {
    const [host, group, last] = topic.slice(cfg.statePrefix.length + 1).split('/');
    if (!host || !group || last !== 'availability' || text !== 'online') return;
    const h = hostState(host);
    if (h.groups.has(group as MetricName)) return;
    h.groups.set(group as MetricName, { intervals: [], lastSampleMs: 0, restoredAtMs: now(), available: true, keys: new Set() });
  };

  /** Every retained message of the bridge again: after Home Assistant's birth, or a reconnect. */
  const republish = () => {
    publish(bridgeStatusTopic(prefixes), 'online');
    for (const [host, h] of hosts) {
      if (h.status) publish(hostStatusTopic(prefixes, host), h.status);
      if (h.entities.size) publishConfigs(host, h);
      for (const [group, g] of h.groups) if (g.available !== undefined) publish(groupAvailabilityTopic(prefixes, host, group), g.available ? 'online' : 'offline');
      if (h.publishedState !== undefined) publish(hostStateTopic(prefixes, host), h.publishedState, 0);
    }
  };

  const forget = (host: string) => {
    const h = hosts.get(host);
    publish(hostStatusTopic(prefixes, host), '');
    if (!h) return;
    if (cfg.deviceDiscovery) publish(deviceConfigTopic(prefixes, host), '');
    else for (const e of h.entities.values()) publish(entityConfig(host, e, {}, opts).topic, '');
    if (h.timer) clearTimeout(h.timer);
    publish(hostStateTopic(prefixes, host), '');
    for (const group of h.groups.keys()) publish(groupAvailabilityTopic(prefixes, host, group), '');
    hosts.delete(host);
    log.info({ host, entities: h.entities.size }, 'host forgotten: its Home Assistant device removed');
  };

  let birthTimer: NodeJS.Timeout | undefined;
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString('utf8').trim();
    if (under(cfg.statePrefix, topic)) {
      if (packet.retain) restoreAvailability(topic, text);
      return;
    }
    if (topic === birthTopic(prefixes)) {
      if (text !== 'online' || birthTimer) return;
      const delay = Math.round(Math.random() * cfg.rediscoveryDelayMs);
      log.info({ delayMs: delay, hosts: hosts.size }, 'Home Assistant came online: sending discovery again');
      birthTimer = setTimeout(() => {
        birthTimer = undefined;
        republish();
      }, delay);
      return;
    }
    let host: string;
    try {
      const t = parseTopic(topic);
      if (t.kind !== 'status') return;
      host = t.host;
    } catch {
      return;
    }
    if (payload.length === 0) return forget(host);
    if (text !== 'online' && text !== 'offline') return; // the ingestor logs and counts bad statuses
    hostState(host).status = text;
    publish(hostStatusTopic(prefixes, host), text);
  });

  let connects = 0;
  let lastError = '';
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  client.on('connect', () => {
    connects++;
    lastError = '';
    // What waited for the old socket's 'drain' goes out on this one.
    if (next < waiting.length) pump();
    if (connects === 1) {
      publish(bridgeStatusTopic(prefixes), 'online');
      client.subscribe([birthTopic(prefixes), statusTopic('+'), `${cfg.statePrefix}/+/+/availability`], { qos: 1 }, (err, granted) => {
        if (err || granted?.some((x) => x.qos === 128)) {
          log.error({ err, granted }, `the broker refused the subscriptions of the Home Assistant bridge: is "${login.username}" a reader, and broker.homeAssistant set with the same prefixes?`);
          return;
        }
        resolveReady();
      });
    } else {
      republish();
    }
    log.info({ broker: login.brokerUrl, clientId: login.clientId, discoveryPrefix: cfg.discoveryPrefix, statePrefix: cfg.statePrefix }, connects === 1 ? 'Home Assistant bridge connected' : 'Home Assistant bridge reconnected');
  });
  client.on('error', (err) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.error({ err, broker: login.brokerUrl }, 'Home Assistant bridge: MQTT error');
  });
  client.on('close', () => {
    // The embedded broker closes the connection on a publish it refuses.
    if (connects > 0) log.debug('Home Assistant bridge: connection closed');
  });

  let failures = 0;
  let failureLoggedAt = 0;
  let stopped: Promise<void> | undefined;
  return {
    client,
    ready,
    reading(host, metric, message, header) {
      try {
        reading(host, metric, message, header);
      } catch (err) {
        failures++;
        if (now() - failureLoggedAt > FAILURE_LOG_EVERY_MS) {
          failureLoggedAt = now();
          log.error({ err, host, metric, failures }, 'Home Assistant bridge failed on a reading (the reading itself is stored)');
        }
      }
    },
    get failures() {
      return failures;
    },
    hosts: () => [...hosts.keys()],
    stop() {
      stopped ??= (async () => {
        clearInterval(sweep);
        if (birthTimer) clearTimeout(birthTimer);
        for (const h of hosts.values()) if (h.timer) clearTimeout(h.timer);
        if (client.connected) await client.publishAsync(bridgeStatusTopic(prefixes), 'offline', { qos: 1, retain: true }).catch(() => undefined);
        await endClient(client);
      })();
      return stopped;
    },
  };
}
