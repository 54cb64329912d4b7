// Who may log in, publish, subscribe and receive what (README "Security model"). Pure functions of
// the client's identity and a topic, so the Aedes hooks stay thin and these stay testable.
//   agent  (username = its hostname): publishes under machmon/<self>/... except confirm/...,
//          subscribes and receives only machmon/<self>/...
//   reader (broker.readers, e.g. the ingestor): subscribes to anything under machmon/,
//          publishes confirmations machmon/<any host>/confirm/... and under machmon/<self>/...
import { TOPIC_ROOT } from '../common/topics.js';

export interface Identity {
  readonly username: string;
  readonly reader: boolean;
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
export function mayPublish(id: Identity, topic: string): boolean {
  const [root, host, third] = topic.split('/', 3);
  if (root !== TOPIC_ROOT || !host || third === undefined || third === '') return false;
  if (third === CONFIRM_SEGMENT) return id.reader;
  return host === id.username;
}

/** May this client subscribe to this filter? */
export function maySubscribe(id: Identity, filter: string): boolean {
  const [root, host, third] = filter.split('/', 3);
  if (root !== TOPIC_ROOT || host === undefined) return false;
  if (id.reader) return true;
  // An agent names its own host literally; '+' or '#' in that place would reach other hosts.
  return host === id.username && third !== undefined && third !== '';
}

/** May this client be sent a message on this topic? A second line behind maySubscribe (taken-over sessions, retained messages). */
export function mayReceive(id: Identity, topic: string): boolean {
  if (id.reader) return topic.startsWith(`${TOPIC_ROOT}/`);
  return topic.startsWith(`${TOPIC_ROOT}/${id.username}/`);
}
