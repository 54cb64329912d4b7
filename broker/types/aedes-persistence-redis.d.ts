// aedes-persistence-redis ships no types. Its main export wraps the store in the callback
// API of Aedes 0.x; Aedes 1.x takes the async class, which this file exports.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  export interface RedisPersistenceOptions {
    host?: string;
    port?: number;
    username?: string;
    password?: string;
    db?: number;
    /** Queued messages delivered to a persistent session when it connects, at most (default 1000). */
    maxSessionDelivery?: number;
  }
  export default class AsyncRedisPersistence {
    constructor(opts?: RedisPersistenceOptions);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
    createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
    createRetainedStream(pattern: string): AsyncIterable<unknown>;
    outgoingStream(client: unknown): AsyncIterable<unknown>;
    streamWill(brokers: unknown): AsyncIterable<unknown>;
    getClientList(topic: string): AsyncIterable<unknown>;
  }
}
