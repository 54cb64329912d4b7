// Modules without typings, the parts the broker uses: qlobber 8 (session store), fastparallel 2 (emitter).
declare module 'qlobber' {
  export interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
    match_empty_levels?: boolean;
  }
  export class QlobberTrue {
    constructor(options?: QlobberOptions);
    add(topic: string): this;
    test(topic: string): boolean;
  }
}

declare module 'qlobber/aedes/qlobber-sub.js' {
  import type { QlobberOptions } from 'qlobber';
  interface Sub { clientId: string; topic: string; qos: number; rh?: number; rap?: number; nl?: number }
  export default class QlobberSub {
    constructor(options?: QlobberOptions);
    readonly subscriptionsCount: number;
    add(topic: string, sub: Sub): this;
    remove(topic: string, sub: { clientId: string; topic: string }): this;
    match(topic: string): Sub[];
  }
}

// fastparallel 2 ships no types; mqemitter builds its delivery pool with it (broker/emitter.ts).
declare module 'fastparallel' {
  export default function fastparallel(options: { results: boolean; released?: () => void }): (...args: unknown[]) => void;
}
