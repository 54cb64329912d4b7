// Login (README "Security model"): username = hostname, password = the fleet's secretPassword,
// compared in constant time. Wrong or empty password -> CONNACK 4 whatever the username
// (so only holders of the password learn which hostnames are allowed); right password but
// a hostname that is neither allowed nor a reader -> CONNACK 5. Every refusal is counted,
// delayed by the per-address throttle and logged by it (never the password).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AedesOptions, Client } from 'aedes';
import type { Logger } from '../../common/log.js';
import { hostMatcher, isHostname, mayPublish, type Identity } from '../acl.js';
import type { AuthThrottle } from '../auth-throttle.js';
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
  will_not_allowed: 5,
  client_id_in_use: 2,
};

export interface AuthenticateDeps {
  secretPassword: string;
  allowedHosts: readonly string[];
  readers: readonly string[];
  throttle: AuthThrottle;
  refusals: Refusals;
  /** Where the identity of each logged-in client is kept for the other hooks. */
  identities: WeakMap<Client, Identity>;
  /** The connected client holding a client id, if any. */
  clientById(id: string): Client | undefined;
  log: Logger;
}

export interface AuthenticateHooks {
  preConnect: PreConnect;
  authenticate: Authenticate;
  /** Sends the refusals still waiting out their delay now (broker shutdown). */
  flush(): void;
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest();

export function createAuthenticateHooks(deps: AuthenticateDeps): AuthenticateHooks {
  const expected = digest(Buffer.from(deps.secretPassword, 'utf8'));
  const passwordOk = (password: Buffer) => timingSafeEqual(digest(password), expected);
  const allowed = hostMatcher(deps.allowedHosts);
  const readers = new Set(deps.readers);
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

    if (!password || password.length === 0) return refuse('empty_password');
    if (!passwordOk(password)) return refuse('bad_password');
    if (!username) return refuse('no_username');
    if (!isHostname(username)) return refuse('bad_username');
    const identity: Identity = { username, reader: readers.has(username) };
    if (!identity.reader && !allowed(username)) return refuse('host_not_allowed');
    const willTopic = willTopics.get(client);
    if (willTopic !== undefined && !mayPublish(identity, willTopic)) return refuse('will_not_allowed');
    // A client id held by a connected client of another username would be taken over
    // (MQTT closes the old connection): refuse instead, so no host can kick the ingestor off.
    const holder = deps.clientById(client.id);
    if (holder && holder !== client && deps.identities.get(holder)?.username !== username) return refuse('client_id_in_use');

    deps.identities.set(client, identity);
    done(null, true);
  };

  const flush = () => {
    for (const [timer, send] of pending) {
      clearTimeout(timer);
      send();
    }
    pending.clear();
  };

  return { preConnect, authenticate, flush };
}
