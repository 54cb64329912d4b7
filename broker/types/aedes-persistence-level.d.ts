// aedes-persistence-level ships no types. Its main export wraps the store in the callback
// API of Aedes 0.x; Aedes 1.x needs the async class, which this file exports.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { AbstractLevel } from 'abstract-level';

  export default class AsyncLevelPersistence {
    constructor(db: AbstractLevel<string | Buffer | Uint8Array, string, Buffer>);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}
