// Login (README "Security model"): username = hostname (or a reader's name), password = the
// fleet password, the host's key or the readers' password, as broker/credentials.ts decides.
// Wrong or empty password -> CONNACK 4 whatever the username (so only holders of a secret
// learn which hostnames are allowed); a right secret for the wrong role, or a hostname that
// is not allowed or revoked -> CONNACK 5. Every refusal is counted, delayed by the
// per-address throttle and logged by it (never the password). reconfigure() swaps in the
// rules of a reloaded config and returns the connected clients they no longer admit.
import type { AedesOptions, Client } from 'aedes';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../../common/log.js';
import { mayPublish, type Identity } from '../acl.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { loginPolicy, type LoginPolicy } from '../credentials.js';
import { addressOf, RefusedError, type RefusalReason, type Refusals } from '../refusals.js';

type PreConnect = NonNullable<AedesOptions['preConnect']>;
type Authenticate = NonNullable<AedesOptions['authenticate']>;

/** Refusals waiting out their delay at once; beyond this a failing connection is dropped at once without CONNACK. */
const MAX_PENDING_REFUSALS = 1000;

const RETURN_CODES: Partial<Record<RefusalReason, 2 | 4 | 5>> = {
  empty_password: 4,
  bad_password: 4,
  no_username: 4,
  bad_username: 5,
  host_not_allowed: 5,
  host_revoked: 5,
  agent_credential_for_reader: 5,
  reader_credential_for_agent: 5,
  fleet_password_disabled: 5,
  host_keys_disabled: 5,
  cert_name_mismatch: 5,
  wrong_credential_for_home_assistant: 5,
  home_assistant_credential_for_other: 5,
  will_not_allowed: 5,
  client_id_in_use: 2,
};

/** The broker section's keys that decide who logs in; they take effect on reload. */
export type LoginConfig = Pick<BrokerConfig, 'secretPassword' | 'readerPassword' | 'auth' | 'allowedHosts' | 'readers' | 'revokedHosts' | 'homeAssistant'>;

export interface AuthenticateDeps {
  login: LoginConfig;
  throttle: AuthThrottle;
  refusals: Refusals;
  /** Where the identity of each logged-in client is kept for the other hooks. */
  identities: WeakMap<Client, Identity>;
  /** The connected client holding a client id, if any. */
  clientById(id: string): Client | undefined;
  /** The CN of the client certificate verified on this client's TLS connection, if any. */
  certNameOf(client: Client): string | undefined;
  log: Logger;
}

export interface AuthenticateHooks {
  preConnect: PreConnect;
  authenticate: Authenticate;
  /** Sends the refusals still waiting out their delay now (broker shutdown). */
  flush(): void;
  /**
   * Applies the login rules of a reloaded config to new logins, and checks every given
   * (connected) client's login again: returns those now refused, with the reason.
   */
  reconfigure(login: LoginConfig, connected: Iterable<Client>): { client: Client; identity: Identity; reason: RefusalReason }[];
}

export function createAuthenticateHooks(deps: AuthenticateDeps): AuthenticateHooks {
  let policy: LoginPolicy = loginPolicy(deps.login);
  /** The password each logged-in client gave, to check it again on reload (kept in memory only, never logged). */
  const passwords = new WeakMap<Client, Buffer>();
  /** Will topic per connecting client, noted in preConnect (the only hook that sees the CONNECT packet). */
  const willTopics = new WeakMap<Client, string>();
  const pending = new Map<NodeJS.Timeout, () => void>();

  const preConnect: PreConnect = (client, packet, callback) => {
    if (packet.will) willTopics.set(client, packet.will.topic);
    callback(null, true);
  };

  const authenticate: Authenticate = (client, username, password, done) => {
    const refuse = (reason: RefusalReason) => {
      deps.refusals[reason]++;
      const returnCode = RETURN_CODES[reason] ?? 5;
      const err = new RefusedError(reason, `login refused: ${reason}`, returnCode) as RefusedError & { returnCode: 4 };
      const address = addressOf(client);
      const delayMs = deps.throttle.failure(address, reason, { username, clientId: client.id });
      if (pending.size >= MAX_PENDING_REFUSALS) {
        deps.refusals.too_many_pending++;
        client.conn.destroy();
        setImmediate(done, err, null);
        return;
      }
      const send = () => done(err, null);
      const timer = setTimeout(() => {
        pending.delete(timer);
        send();
      }, delayMs);
      pending.set(timer, send);
    };

    const result = policy.check(username, password, deps.certNameOf(client));
    if ('refused' in result) return refuse(result.refused);
    const { identity } = result;
    const willTopic = willTopics.get(client);
    if (willTopic !== undefined && !mayPublish(identity, willTopic)) return refuse('will_not_allowed');
    // A client id held by a connected client of another username would be taken over
    // (MQTT closes the old connection): refuse instead, so no host can kick the ingestor off.
    const holder = deps.clientById(client.id);
    if (holder && holder !== client && deps.identities.get(holder)?.username !== username) return refuse('client_id_in_use');

    deps.identities.set(client, identity);
    if (password) passwords.set(client, Buffer.from(password));
    done(null, true);
  };

  const reconfigure: AuthenticateHooks['reconfigure'] = (login, connected) => {
    policy = loginPolicy(login);
    const dropped: ReturnType<AuthenticateHooks['reconfigure']> = [];
    for (const client of connected) {
      const identity = deps.identities.get(client);
      if (!identity) continue; // still logging in: the new rules apply to it
      const again = policy.check(identity.username, passwords.get(client), deps.certNameOf(client));
      // (A role never changes while the login passes: the reader password opens readers only.)
      if ('refused' in again) dropped.push({ client, identity, reason: again.refused });
    }
    return dropped;
  };

  const flush = () => {
    for (const [timer, send] of pending) {
      clearTimeout(timer);
      send();
    }
    pending.clear();
  };

  return { preConnect, authenticate, flush, reconfigure };
}
