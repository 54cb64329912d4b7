// Publish ACL (README "Security model"): a client publishes only under machmon/<its username>/...;
// machmon/<any host>/confirm/... only readers may publish (end-to-end confirmations); the
// Home Assistant topics as broker/acl.ts says.
// $SYS stays closed. Aedes answers a refusal by closing the connection without PUBACK
// (MQTT 3.1.1 has no negative PUBACK), so the message never reaches a subscriber.
// The payload limit is checked here exactly; the framer in front of Aedes has already
// dropped anything far bigger before it was buffered.
import type { AedesOptions, Client } from 'aedes';
import type { Logger } from '../../common/log.js';
import { TOPIC_ROOT } from '../../common/topics.js';
import { mayPublish, type Identity } from '../acl.js';
import { addressOf, RefusedError, type Refusals } from '../refusals.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

export interface AuthorizePublishDeps {
  identities: WeakMap<Client, Identity>;
  maxPayloadBytes: number;
  refusals: Refusals;
  log: Logger;
  /** Publishes let through, counted (broker/metrics.ts). */
  counters?: { publishesReceived: number };
}

export function createAuthorizePublish(deps: AuthorizePublishDeps): AuthorizePublish {
  return (client, packet, callback) => {
    const topic = packet.topic;
    if (client === null) {
      // A Last Will left by a session of a broker that died. Its topic passed mayPublish
      // when the client logged in (authenticate refuses a will it may not publish).
      return callback(topic.startsWith(`${TOPIC_ROOT}/`) ? null : new RefusedError('publish_denied', `stored will to ${topic} refused`));
    }
    const id = deps.identities.get(client);
    const empty = typeof packet.payload === 'string' ? packet.payload.length === 0 : packet.payload.length === 0;
    if (!id || !mayPublish(id, topic, { clearsRetained: packet.retain && empty })) {
      deps.refusals.publish_denied++;
      deps.log.warn({ address: addressOf(client), clientId: client.id, username: id?.username, topic }, 'publish refused');
      return callback(new RefusedError('publish_denied', `publish to ${topic} refused`));
    }
    const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
    if (size > deps.maxPayloadBytes) {
      deps.refusals.payload_too_large++;
      deps.log.warn({ address: addressOf(client), clientId: client.id, username: id.username, topic, size, limit: deps.maxPayloadBytes }, 'payload too large');
      return callback(new RefusedError('payload_too_large', `payload of ${size} bytes to ${topic} refused`));
    }
    if (deps.counters) deps.counters.publishesReceived++;
    callback(null);
  };
}
