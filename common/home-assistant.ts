// The Home Assistant side of the topic layout (README "Home Assistant"), in one place for the
// broker's ACL, the ingestor's bridge, `machmon forget` and mosquitto-config:
//   <discoveryPrefix>/<component>/<nodeId>/<objectId>/config   one retained config per entity
//   <discoveryPrefix>/device/<nodeId>/config                   the same as one device config (option)
//   <discoveryPrefix>/status                                   Home Assistant's birth/will ("online"/"offline")
//   <statePrefix>/status                                       the bridge's own availability (Last Will "offline")
//   <statePrefix>/<host>/status                                copy of machmon/<host>/status
//   <statePrefix>/<host>/state                                 retained JSON state of the host (every group's entities)
//   <statePrefix>/<host>/<group>/availability                  "online" while the group's readings arrive
import * as z from 'zod/mini';
import { TOPIC_ROOT } from './topics.js';

/** Topic levels of letters, digits, _ and -, joined by '/': no wildcards, no $, no empty level. */
export const topicPrefix = z.string().check(
  z.regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'must be topic levels of letters, digits, _ and - separated by /'),
  z.refine((p) => p !== TOPIC_ROOT && !p.startsWith(`${TOPIC_ROOT}/`), `must not be under ${TOPIC_ROOT}/ (the fleet's own topics)`),
);

export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
export const DEFAULT_STATE_PREFIX = 'machmon-ha';

export interface HaPrefixes {
  readonly discoveryPrefix: string;
  readonly statePrefix: string;
}

/** True when neither prefix is the other or inside it. */
export const prefixesApart = (p: HaPrefixes) =>
  p.discoveryPrefix !== p.statePrefix && !p.discoveryPrefix.startsWith(`${p.statePrefix}/`) && !p.statePrefix.startsWith(`${p.discoveryPrefix}/`);

/** Is `topic` (or a filter) inside `prefix`? */
export const under = (prefix: string, topic: string) => topic.startsWith(`${prefix}/`);

/** HA's node_id allows [a-zA-Z0-9_-] only (discovery topic regex); hostnames may also hold dots. */
export const nodeId = (host: string) => `machmon_${host.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export const birthTopic = (p: HaPrefixes) => `${p.discoveryPrefix}/status`;
export const bridgeStatusTopic = (p: HaPrefixes) => `${p.statePrefix}/status`;
export const hostStatusTopic = (p: HaPrefixes, host: string) => `${p.statePrefix}/${host}/status`;
export const hostStateTopic = (p: HaPrefixes, host: string) => `${p.statePrefix}/${host}/state`;
export const groupAvailabilityTopic = (p: HaPrefixes, host: string, group: string) => `${p.statePrefix}/${host}/${group}/availability`;
export const entityConfigTopic = (p: HaPrefixes, component: string, host: string, objectId: string) => `${p.discoveryPrefix}/${component}/${nodeId(host)}/${objectId}/config`;
export const deviceConfigTopic = (p: HaPrefixes, host: string) => `${p.discoveryPrefix}/device/${nodeId(host)}/config`;
/** Every per-entity config of one host (what `machmon forget` clears). */
export const hostConfigFilter = (p: HaPrefixes, host: string) => `${p.discoveryPrefix}/+/${nodeId(host)}/+/config`;
/** Every state and availability topic of one host. */
export const hostStateFilter = (p: HaPrefixes, host: string) => `${p.statePrefix}/${host}/#`;
