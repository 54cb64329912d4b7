// Subscribe ACL (README "Security model"): readers may subscribe to anything under machmon/; an
// agent only to its own host's topics (machmon/<self>/..., its confirm topic included).
// A refused filter gets SUBACK 128 (Aedes does that when the callback gets null); the
// client stays connected. Also applied to subscriptions restored from a stored session.
import type { AedesOptions, Client } from 'aedes';
import type { Logger } from '../../common/log.js';
import { maySubscribe, type Identity } from '../acl.js';
import { addressOf, type Refusals } from '../refusals.js';

type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

export interface AuthorizeSubscribeDeps {
  identities: WeakMap<Client, Identity>;
  refusals: Refusals;
  log: Logger;
}

export function createAuthorizeSubscribe(deps: AuthorizeSubscribeDeps): AuthorizeSubscribe {
  return (client, subscription, callback) => {
    const id = deps.identities.get(client);
    if (!id || !maySubscribe(id, subscription.topic)) {
      deps.refusals.subscribe_denied++;
      deps.log.warn({ address: addressOf(client), clientId: client.id, username: id?.username, filter: subscription.topic }, 'subscribe refused');
      return callback(null, null);
    }
    callback(null, subscription);
  };
}
