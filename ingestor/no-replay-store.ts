import { Store } from 'mqtt';

/**
 * The ingestor's outgoing QoS 1 messages are its confirmations. After a reconnect MQTT.js
 * sends the ones a lost connection left unacknowledged again, one at a time, each waiting for
 * its PUBACK, and emits 'connect' only after the last (mqtt 5.16 lib/client.js _onConnect);
 * when the pending buffer is full the packet pump is held (mqtt-ack.ts), those PUBACKs are not
 * read, and after a broker restart the session did not come back for minutes (README
 * "Scaling"). A confirmation is advisory: a lost one is covered by the agent sending the
 * reading again after its confirm timeout (stored again as the same point, confirmed again).
 * So this store replays nothing after a reconnect; it still tracks what awaits its PUBACK.
 */
export class NoReplayStore extends Store {
  readonly #empty = new Store();
  override createStream(): ReturnType<Store['createStream']> {
    return this.#empty.createStream();
  }
}
