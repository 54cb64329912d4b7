// Who may publish, subscribe and receive what (README "Security model"). Pure functions of
// the client's identity and a topic, so the Aedes hooks stay thin and these stay testable.
//   agent  (username = its hostname): publishes under machmon/<self>/... except confirm/...,
//          subscribes and receives only machmon/<self>/...
//   reader (broker.readers, e.g. the ingestor): subscribes to anything under machmon/,
//          publishes confirmations machmon/<any host>/confirm/... and under machmon/<self>/...;
//          with broker.homeAssistant also reads and writes the discovery and state prefixes
//          (the ingestor's bridge); any reader may clear a host's retained status (an empty
//          retained message on machmon/<host>/status: `machmon forget`) and write nothing else there
//   Home Assistant (broker.homeAssistant.username): reads the discovery and state prefixes,
//          publishes <discoveryPrefix>/status (its birth and will) and nothing else
import { birthTopic, under, type HaPrefixes } from '../common/home-assistant.js';
import { STATUS, TOPIC_ROOT } from '../common/topics.js';

/** The secret a client logged in with (broker/credentials.ts). */
export type Credential = 'fleetPassword' | 'hostKey' | 'readerPassword' | 'homeAssistantPassword' | 'clientCert';

/** What the rules below look at: the username, whether it logged in as a reader or as Home Assistant, and the Home Assistant topics when broker.homeAssistant is set. */
export interface Role {
  readonly username: string;
  readonly reader: boolean;
  readonly homeAssistant?: boolean;
  readonly ha?: HaPrefixes;
}

/** Publish options the rules look at beyond the topic. */
export interface PublishFacts {
  /** A retained message with an empty payload: it deletes the retained message of its topic. */
  readonly clearsRetained?: boolean;
}

const underHa = (ha: HaPrefixes | undefined, topic: string) => !!ha && (under(ha.discoveryPrefix, topic) || under(ha.statePrefix, topic));

/** A logged-in client, as the broker keeps it. */
export interface Identity extends Role {
  readonly credential: Credential;
}

/** The characters a hostname may have (the config's rule); anything else, wildcards and '/' above all, never logs in. */
const HOSTNAME = /^[A-Za-z0-9_.-]+$/;
const CONFIRM_SEGMENT = 'confirm';

export function isHostname(name: string): boolean {
  return name.length <= 253 && HOSTNAME.test(name);
}

/** Turns allowedHosts (exact names and globs with * and ?) into one predicate. Case-sensitive, like topics. */
export function hostMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns
    .filter((p) => /[*?]/.test(p))
    .map((p) => new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\*/g, '[A-Za-z0-9_.-]*').replace(/\?/g, '[A-Za-z0-9_.-]')}$`));
  return (name) => isHostname(name) && (exact.has(name) || globs.some((g) => g.test(name)));
}

/** May this client publish to this topic? (Topics never hold wildcards here: Aedes refuses those first.) */
export function mayPublish(id: Role, topic: string, facts: PublishFacts = {}): boolean {
  if (id.homeAssistant) return !!id.ha && topic === birthTopic(id.ha);
  if (id.reader && underHa(id.ha, topic)) return true;
  const parts = topic.split('/');
  const [root, host, third] = parts;
  if (root !== TOPIC_ROOT || !host || third === undefined || third === '') return false;
  if (third === CONFIRM_SEGMENT) return id.reader;
  // `machmon forget`: a reader deletes a retired host's retained status, and may write nothing else there.
  if (id.reader && facts.clearsRetained && parts.length === 3 && third === STATUS) return true;
  return host === id.username;
}

/** May this client subscribe to this filter? */
export function maySubscribe(id: Role, filter: string): boolean {
  if (id.homeAssistant) return underHa(id.ha, filter);
  if (id.reader && underHa(id.ha, filter)) return true;
  const [root, host, third] = filter.split('/', 3);
  if (root !== TOPIC_ROOT || host === undefined) return false;
  if (id.reader) return true;
  // An agent names its own host literally; '+' or '#' in that place would reach other hosts.
  return host === id.username && third !== undefined && third !== '';
}

/** May this client be sent a message on this topic? A second line behind maySubscribe (taken-over sessions, retained messages). */
export function mayReceive(id: Role, topic: string): boolean {
  if (id.homeAssistant) return underHa(id.ha, topic);
  if (id.reader) return topic.startsWith(`${TOPIC_ROOT}/`) || underHa(id.ha, topic);
  return topic.startsWith(`${TOPIC_ROOT}/${id.username}/`);
}
