// Last check before a message goes out: a client is sent only topics it may read
// (acl.mayReceive). Subscriptions already keep agents to their own host; this also covers
// retained messages and a stored session picked up under someone else's username.
import type { AedesOptions, Client } from 'aedes';
import { mayReceive, type Identity } from '../acl.js';

type AuthorizeForward = NonNullable<AedesOptions['authorizeForward']>;

/** `counters.publishesDelivered` counts the messages let through (broker/metrics.ts). */
export function createAuthorizeForward(identities: WeakMap<Client, Identity>, counters?: { publishesDelivered: number }): AuthorizeForward {
  return (client, packet) => {
    const id = identities.get(client);
    if (!id || !mayReceive(id, packet.topic)) return null;
    if (counters) counters.publishesDelivered++;
    return packet;
  };
}
