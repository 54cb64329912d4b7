// Home Assistant MQTT discovery payloads (README "Home Assistant"): one retained config per
// entity on <discoveryPrefix>/<component>/<nodeId>/<objectId>/config, which every Home Assistant
// release understands, or, with ingestor.homeAssistant.deviceDiscovery, one device config
// (Home Assistant 2024.12 and newer). Full key names, no abbreviations. Available only while all
// three say "online": the bridge (its Last Will), the host (the agent's own retained status,
// copied) and the entity's group (its readings still arriving).
import {
  bridgeStatusTopic,
  deviceConfigTopic,
  entityConfigTopic,
  groupAvailabilityTopic,
  hostStateTopic,
  hostStatusTopic,
  nodeId,
  type HaPrefixes,
} from '../../common/home-assistant.js';
import type { EntityInstance } from './entities.js';

export interface DeviceFacts {
  /** The Pi's board model (PiHealth.model), where known. */
  model?: string;
  /** Board revision code (PiHealth.revision). */
  revision?: string;
  /** The agent's version (every reading's header). */
  agentVersion?: string;
  /** The header's system ("Raspbian", "Debian"...). */
  system?: string;
}

export interface DiscoveryOptions extends HaPrefixes {
  /** ingestor.homeAssistant.configurationUrl, {host} not yet replaced. */
  configurationUrl?: string;
  /** The origin block's sw_version: this Machmon's version. */
  version: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** The device block: the same in every config of a host. */
export function deviceBlock(host: string, facts: DeviceFacts, opts: DiscoveryOptions): JsonObject {
  const pi = facts.model?.startsWith('Raspberry Pi') ?? false;
  const device: JsonObject = { identifiers: [nodeId(host)], name: host };
  if (pi) device.manufacturer = 'Raspberry Pi Ltd';
  if (facts.model) device.model = facts.model;
  else if (facts.system) device.model = facts.system;
  if (facts.agentVersion) device.sw_version = `Machmon agent ${facts.agentVersion}`;
  if (facts.revision) device.hw_version = facts.revision;
  if (opts.configurationUrl) device.configuration_url = opts.configurationUrl.replaceAll('{host}', encodeURIComponent(host));
  return device;
}

export const originBlock = (opts: DiscoveryOptions): JsonObject => ({ name: 'Machmon', sw_version: opts.version });

/** An entity's config without device and origin (device discovery puts those once, on top). */
export function componentConfig(host: string, e: EntityInstance, opts: DiscoveryOptions): JsonObject {
  const { def } = e;
  const c: JsonObject = {
    name: e.name,
    unique_id: `${nodeId(host)}_${e.objectId}`,
    state_topic: hostStateTopic(opts, host),
    value_template: `{{ value_json.${e.objectId} }}`,
    availability: [{ topic: bridgeStatusTopic(opts) }, { topic: hostStatusTopic(opts, host) }, { topic: groupAvailabilityTopic(opts, host, def.group) }],
    availability_mode: 'all',
  };
  if (def.component === 'binary_sensor') {
    c.payload_on = '1';
    c.payload_off = '0';
  }
  if (def.device_class) c.device_class = def.device_class;
  if (def.unit_of_measurement) c.unit_of_measurement = def.unit_of_measurement;
  if (def.state_class) c.state_class = def.state_class;
  if (def.suggested_display_precision !== undefined) c.suggested_display_precision = def.suggested_display_precision;
  if (def.entity_category) c.entity_category = def.entity_category;
  return c;
}

/** Topic and payload of one entity's own config. */
export function entityConfig(host: string, e: EntityInstance, device: JsonObject, opts: DiscoveryOptions): { topic: string; payload: JsonObject } {
  return {
    topic: entityConfigTopic(opts, e.def.component, host, e.objectId),
    payload: { ...componentConfig(host, e, opts), device, origin: originBlock(opts) },
  };
}

/** Topic and payload of a host's device config (deviceDiscovery). */
export function deviceConfig(host: string, entities: Iterable<EntityInstance>, device: JsonObject, opts: DiscoveryOptions): { topic: string; payload: JsonObject } {
  const components: JsonObject = {};
  for (const e of entities) components[e.objectId] = { platform: e.def.component, ...componentConfig(host, e, opts) };
  return { topic: deviceConfigTopic(opts, host), payload: { device, origin: originBlock(opts), components } };
}
