// Sessions, subscriptions and retained messages in Redis for a cluster of brokers
// (broker.cluster). aedes-persistence-redis 11.2's async class hands out async generators
// where Aedes 1.2 pipes Node streams (lib/handlers/subscribe.js: stream.pipe, so the first
// SUBSCRIBE of a client crashed the broker); aedes-persistence-level returns
// Readable.from(...) for the same methods, and so does this subclass.
import { Readable } from 'node:stream';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';

export class RedisPersistence extends AsyncRedisPersistence {
  override createRetainedStreamCombi(patterns: string[]) {
    return Readable.from(super.createRetainedStreamCombi(patterns));
  }

  override createRetainedStream(pattern: string) {
    return Readable.from(super.createRetainedStream(pattern));
  }

  override outgoingStream(client: unknown) {
    return Readable.from(super.outgoingStream(client));
  }

  override streamWill(brokers: unknown) {
    return Readable.from(super.streamWill(brokers));
  }

  override getClientList(topic: string) {
    return Readable.from(super.getClientList(topic));
  }
}
