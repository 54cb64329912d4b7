// A value that rarely changes (CPU count, boot time, user names, the list of thermal zones),
// read again only when its time to live has passed. A failed read is not cached.

export interface Cached<T> {
  get(): Promise<T>;
  /** Forgets the value: the next get() reads it again. */
  clear(): void;
}

/** `ttlMs` may depend on the value read, e.g. "forever once found, 5 minutes while missing". */
export function cachedFor<T>(ttlMs: number | ((value: T) => number), read: () => Promise<T>, now: () => number = Date.now): Cached<T> {
  let cache: { value: T; until: number } | undefined;
  return {
    async get() {
      const t = now();
      if (cache && t < cache.until) return cache.value;
      const value = await read();
      cache = { value, until: t + (typeof ttlMs === 'number' ? ttlMs : ttlMs(value)) };
      return value;
    },
    clear() {
      cache = undefined;
    },
  };
}
