// Who a login is (README "Security model"). Three secrets open three kinds of login:
//   fleet password   broker.secretPassword: any allowed host (broker.auth fleetPassword or both)
//   host key         HMAC-SHA256(fleet password, hostname), typed as 6 groups of 4 characters:
//                    only the host it was made for (broker.auth hostKeys or both); the server
//                    stores nothing per host, `machmon host-key <hostname>` prints one
//   reader password  broker.readerPassword: only the names in broker.readers
//   Home Assistant   broker.homeAssistant.password: only broker.homeAssistant.username
//   client cert      on the TLS listener with broker.tls.requireClientCert: a certificate
//                    signed by broker.tls.ca names the client in its CN (as Mosquitto's
//                    use_identity_as_username); no password is needed, a username other than
//                    the CN is refused
// A password that opens none of them for this username is CONNACK 4 (bad username or
// password); a right secret used for the wrong role, a host outside allowedHosts or a
// revoked one is CONNACK 5 (not authorised). Every secret is compared as a SHA-256 digest
// with timingSafeEqual, all of them on every login, so the time taken says nothing about
// which one (nearly) matched.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { BrokerConfig } from './config.js';
import { hostMatcher, isHostname, type Credential, type Identity } from './acl.js';
import type { RefusalReason } from './refusals.js';

/** Crockford's base32 in lower case: no i, l, o, u, so nothing reads as another character. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 15 bytes of the HMAC: 120 bits, 24 characters. */
const KEY_BYTES = 15;

/** The host key of `hostname`: 24 base32 characters of HMAC-SHA256(fleet password, hostname), in groups of 4 joined by '-'. */
export function hostKey(fleetPassword: string, hostname: string): string {
  const mac = createHmac('sha256', Buffer.from(fleetPassword, 'utf8')).update(hostname, 'utf8').digest().subarray(0, KEY_BYTES);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of mac) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

export type LoginResult = { identity: Identity } | { refused: RefusalReason };

/** Which logins the broker section admits; built once per config (start and every reload). */
export interface LoginPolicy {
  /** `certName`: the CN of the client certificate the TLS handshake verified, if any. */
  check(username: string | undefined, password: Buffer | undefined, certName?: string): LoginResult;
}

const digest = (b: Uint8Array | string) => createHash('sha256').update(b).digest();
const same = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

export function loginPolicy(cfg: Pick<BrokerConfig, 'secretPassword' | 'readerPassword' | 'auth' | 'allowedHosts' | 'readers' | 'revokedHosts' | 'homeAssistant'>): LoginPolicy {
  const fleet = digest(Buffer.from(cfg.secretPassword, 'utf8'));
  const reader = digest(Buffer.from(cfg.readerPassword, 'utf8'));
  const haCfg = cfg.homeAssistant;
  // Without broker.homeAssistant no password opens this login: a digest nothing hashes to.
  const haPassword = haCfg ? digest(Buffer.from(haCfg.password, 'utf8')) : Buffer.alloc(32, 0xff);
  const ha = haCfg ? { discoveryPrefix: haCfg.discoveryPrefix, statePrefix: haCfg.statePrefix } : undefined;
  const allowed = hostMatcher(cfg.allowedHosts);
  const readers = new Set(cfg.readers);
  const revoked = new Set(cfg.revokedHosts);
  const fleetOk = cfg.auth !== 'hostKeys';
  const hostKeysOk = cfg.auth !== 'fleetPassword';

  const roleOf = (username: string, credential: Credential): LoginResult => {
    if (revoked.has(username)) return { refused: 'host_revoked' };
    if (readers.has(username)) {
      return credential === 'readerPassword' || credential === 'clientCert' ? { identity: { username, reader: true, credential, ...(ha ? { ha } : {}) } } : { refused: 'agent_credential_for_reader' };
    }
    if (haCfg && username === haCfg.username) {
      return credential === 'homeAssistantPassword' || credential === 'clientCert' ? { identity: { username, reader: false, homeAssistant: true, credential, ha } } : { refused: 'wrong_credential_for_home_assistant' };
    }
    if (credential === 'homeAssistantPassword') return { refused: 'home_assistant_credential_for_other' };
    if (credential === 'readerPassword') return { refused: 'reader_credential_for_agent' };
    if (credential === 'fleetPassword' && !fleetOk) return { refused: 'fleet_password_disabled' };
    if (credential === 'hostKey' && !hostKeysOk) return { refused: 'host_keys_disabled' };
    if (!allowed(username)) return { refused: 'host_not_allowed' };
    return { identity: { username, reader: false, credential } };
  };

  const check = (username: string | undefined, password: Buffer | undefined, certName?: string): LoginResult => {
    if (certName !== undefined) {
      // The certificate is the credential; a password, if any, is not looked at.
      if (!isHostname(certName)) return { refused: 'bad_username' };
      if (username && username !== certName) return { refused: 'cert_name_mismatch' };
      return roleOf(certName, 'clientCert');
    }
    if (!password || password.length === 0) return { refused: 'empty_password' };
    const given = digest(password);
    // Every comparison is made, whichever matches.
    const isFleet = same(given, fleet);
    const isReader = same(given, reader);
    const isHa = same(given, haPassword);
    const isHostKey = same(given, digest(username && isHostname(username) ? hostKey(cfg.secretPassword, username) : '\0'));
    const credential: Credential | undefined = isReader ? 'readerPassword' : isHa ? 'homeAssistantPassword' : isHostKey ? 'hostKey' : isFleet ? 'fleetPassword' : undefined;
    if (!credential) return { refused: 'bad_password' };
    if (!username) return { refused: 'no_username' };
    if (!isHostname(username)) return { refused: 'bad_username' };
    return roleOf(username, credential);
  };
  return { check };
}
