// `machmon host-key <hostname>...`: the per-host password of README "Security model", derived
// from the fleet password (broker/credentials.ts). Only the key goes to stdout, so
// `KEY=$(machmon host-key pi-kitchen)` works; what the broker would still refuse goes to stderr.
import { hostMatcher, isHostname } from '../broker/acl.js';
import { hostKey } from '../broker/credentials.js';
import type { BrokerConfig } from '../broker/config.js';

/** Prints the keys; returns the exit code (2 for a name that is no hostname, or none at all). */
export function printHostKeys(cfg: BrokerConfig, names: readonly string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): number {
  if (names.length === 0) {
    err('machmon host-key: name the host, e.g. machmon host-key pi-kitchen');
    return 2;
  }
  const bad = names.filter((n) => !isHostname(n));
  if (bad.length) {
    err(`machmon host-key: not a hostname (letters, digits, . _ -): ${bad.map((n) => `"${n}"`).join(', ')}`);
    return 2;
  }
  const allowed = hostMatcher(cfg.allowedHosts);
  for (const name of names) {
    if (cfg.readers.includes(name)) err(`machmon host-key: ${name} is a reader (broker.readers): readers log in with broker.readerPassword, not a host key`);
    else if (cfg.revokedHosts.includes(name)) err(`machmon host-key: ${name} is in broker.revokedHosts: the broker refuses it`);
    else if (!allowed(name)) err(`machmon host-key: ${name} does not match broker.allowedHosts (${cfg.allowedHosts.join(', ')}): the broker refuses it until it does`);
    out(names.length === 1 ? hostKey(cfg.secretPassword, name) : `${name} ${hostKey(cfg.secretPassword, name)}`);
  }
  if (cfg.auth === 'fleetPassword') err('machmon host-key: broker.auth is "fleetPassword": set it to "both" (or "hostKeys") for the broker to accept host keys');
  return 0;
}
