/**
 * Short-lived data (OTP hashes, attempt counters, rate limits, single-use tokens, idempotency keys):
 * everything written here expires on its own. Durable records belong in PostgreSQL.
 *
 * Every write takes a `Ttl`, and a `Ttl` can only be made by `ttlSeconds`/`ttlMillis`, which refuse
 * zero, negative and fractional values: a key that lives forever cannot be written through this port.
 * Keys are relative; the adapter puts them under its configured prefix.
 */
export interface EphemeralStore {
  /** Writes (or overwrites) `key`, expiring after `ttl`. */
  set(key: string, value: string, ttl: Ttl): Promise<void>;
  /** Writes `key` only if it does not exist; `true` when this call wrote it (a lock, a dedupe marker). */
  setIfAbsent(key: string, value: string, ttl: Ttl): Promise<boolean>;
  get(key: string): Promise<string | null>;
  /**
   * `setIfAbsent(lockKey)` and, only when this call wrote it, `get(key)`, atomically and in one round
   * trip: `{ value }` for the lock holder, `null` when the lock was held already.
   */
  lockAndGet(lockKey: string, lockValue: string, ttl: Ttl, key: string): Promise<{ value: string | null } | null>;
  /** Reads and deletes atomically: of any number of concurrent callers, exactly one gets the value. */
  getAndDelete(key: string): Promise<string | null>;
  /** Deletes all the keys at once; `true` when any of them existed. */
  delete(...keys: [string, ...string[]]): Promise<boolean>;
  /**
   * Deletes `key` only while it still holds `value` (compare-and-delete, atomic): of concurrent
   * callers that read the same value, exactly one gets `true`, and a value written meanwhile survives.
   */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /**
   * Adds one to the counter at `key` atomically. The first increment creates it with `ttl` (a fixed
   * window: later increments do not extend it). Returns the new count and how long the window has left,
   * which is what a rate limiter needs for `Retry-After`.
   */
  increment(key: string, ttl: Ttl): Promise<Counter>;
  /**
   * Takes one back from the counter at `key` (a refund: an attempt counted in advance turned out not
   * to count), keeping its window. Nothing happens when the counter is gone or already at zero.
   */
  decrement(key: string): Promise<void>;
  /** Milliseconds until `key` expires, or `null` when it does not exist. For cooldowns. */
  remainingTtl(key: string): Promise<number | null>;
  /** Resolves when the store answers; rejects otherwise. For `/readyz`. */
  ping(): Promise<void>;
}

export interface Counter {
  count: number;
  /** Milliseconds left in the counter's window. */
  ttlMillis: number;
}

declare const ttlBrand: unique symbol;
/** A positive whole number of milliseconds, only obtainable from `ttlSeconds` / `ttlMillis`. */
export type Ttl = number & { readonly [ttlBrand]: true };

export function ttlMillis(ms: number): Ttl {
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new RangeError(`TTL must be a positive whole number of milliseconds, got ${ms}`);
  }
  return ms as Ttl;
}

export function ttlSeconds(seconds: number): Ttl {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new RangeError(`TTL must be a positive whole number of seconds, got ${seconds}`);
  }
  return ttlMillis(seconds * 1000);
}
