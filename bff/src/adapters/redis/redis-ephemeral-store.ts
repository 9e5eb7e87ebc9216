import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../../kernel/errors.ts';
import type { Counter, EphemeralStore, Ttl } from '../../ports/ephemeral-store.ts';

/**
 * INCR and set the window on first use, in one step (a crash between INCR and PEXPIRE would leave a
 * counter that never expires and locks a user out for good). A counter found without a TTL, whoever
 * wrote it, gets one too. Returns { count, remaining ms }.
 */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;
const INCREMENT_SHA = createHash('sha1').update(INCREMENT_SCRIPT).digest('hex');

/** DECR keeps the key's TTL; a counter that expired is not brought back as -1. */
const DECREMENT_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
`;
const DECREMENT_SHA = createHash('sha1').update(DECREMENT_SCRIPT).digest('hex');

const DELETE_IF_EQUALS_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;
const DELETE_IF_EQUALS_SHA = createHash('sha1').update(DELETE_IF_EQUALS_SCRIPT).digest('hex');

// nil to the client when the lock is held; otherwise an array of one (holding nil when the key is
// missing), so a missing value is told apart from a held lock.
const LOCK_AND_GET_SCRIPT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return false
end
return { redis.call('GET', KEYS[2]) }
`;
const LOCK_AND_GET_SHA = createHash('sha1').update(LOCK_AND_GET_SCRIPT).digest('hex');

const MAX_KEY_LENGTH = 512;

export interface RedisEphemeralStoreOptions {
  redis: Redis;
  /** Put in front of every key, e.g. `bff:`; lets several deployments or tests share one Redis. */
  keyPrefix: string;
}

/**
 * `EphemeralStore` on Redis. Every write sets its expiry in the same command (`SET ... PX`), so there
 * is no window in which a key exists without one. Redis failures leave as DEPENDENCY_UNAVAILABLE.
 */
export class RedisEphemeralStore implements EphemeralStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: RedisEphemeralStoreOptions) {
    if (options.keyPrefix === '') throw new RangeError('keyPrefix must not be empty');
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix;
  }

  async set(key: string, value: string, ttl: Ttl): Promise<void> {
    const fullKey = this.#key(key);
    await this.#call(() => this.#redis.set(fullKey, value, 'PX', ttl));
  }

  async setIfAbsent(key: string, value: string, ttl: Ttl): Promise<boolean> {
    const fullKey = this.#key(key);
    const reply = await this.#call(() => this.#redis.set(fullKey, value, 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  get(key: string): Promise<string | null> {
    const fullKey = this.#key(key);
    return this.#call(() => this.#redis.get(fullKey));
  }

  async lockAndGet(lockKey: string, lockValue: string, ttl: Ttl, key: string): Promise<{ value: string | null } | null> {
    const keys = [this.#key(lockKey), this.#key(key)];
    const reply = await this.#call(() => this.#script(LOCK_AND_GET_SCRIPT, LOCK_AND_GET_SHA, keys, [lockValue, ttl]));
    if (reply === null) return null;
    const [value] = reply as [string | null | undefined];
    return { value: value ?? null };
  }

  getAndDelete(key: string): Promise<string | null> {
    const fullKey = this.#key(key);
    return this.#call(() => this.#redis.getdel(fullKey));
  }

  async delete(...keys: [string, ...string[]]): Promise<boolean> {
    const fullKeys = keys.map((k) => this.#key(k));
    return (await this.#call(() => this.#redis.del(fullKeys))) > 0;
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    const fullKey = this.#key(key);
    return (await this.#call(() => this.#script(DELETE_IF_EQUALS_SCRIPT, DELETE_IF_EQUALS_SHA, [fullKey], [value]))) === 1;
  }

  async increment(key: string, ttl: Ttl): Promise<Counter> {
    const fullKey = this.#key(key);
    return parseCounter(await this.#call(() => this.#script(INCREMENT_SCRIPT, INCREMENT_SHA, [fullKey], [ttl])));
  }

  async decrement(key: string): Promise<void> {
    const fullKey = this.#key(key);
    await this.#call(() => this.#script(DECREMENT_SCRIPT, DECREMENT_SHA, [fullKey], []));
  }

  async #script(script: string, sha: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH): send the script itself, which caches it.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return this.#redis.eval(script, keys.length, ...keys, ...args);
      throw error;
    }
  }

  async remainingTtl(key: string): Promise<number | null> {
    const fullKey = this.#key(key);
    const ms = await this.#call(() => this.#redis.pttl(fullKey));
    // -2: no such key. -1 (no expiry) cannot be written through this port; treat it as absent.
    return ms < 0 ? null : ms;
  }

  async ping(): Promise<void> {
    await this.#call(() => this.#redis.ping());
  }

  /** Validated outside `#call`: a bad key is a programming error, not an unavailable Redis. */
  #key(key: string): string {
    if (key === '' || key.length > MAX_KEY_LENGTH) {
      throw new RangeError(`ephemeral store key must be 1..${MAX_KEY_LENGTH} characters`);
    }
    return this.#prefix + key;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      // No key, value or argument in the message: they may hold OTP hashes or identifiers.
      throw new DomainError('DEPENDENCY_UNAVAILABLE', 'The short-lived data store is unavailable.', {
        details: { dependency: 'redis' },
        cause: error,
      });
    }
  }
}

export function parseCounter(reply: unknown): Counter {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected reply from the increment script');
  const [count, ttlMillis] = reply as unknown[];
  if (typeof count !== 'number' || typeof ttlMillis !== 'number') {
    throw new Error('unexpected reply from the increment script');
  }
  return { count, ttlMillis };
}
