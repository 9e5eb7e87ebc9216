import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { ttlMillis, ttlSeconds } from '../../bff/src/ports/ephemeral-store.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

const keys = testKeyPrefix('ephemeral');
let redis: Redis;
let store: RedisEphemeralStore;

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-ephemeral-store' });
  store = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
});

/** Every key under this file's prefix, read straight from Redis. */
async function allKeys(): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 500);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

describe('RedisEphemeralStore', () => {
  it('sets, gets and deletes under the prefix', async () => {
    await store.set('otp:a', 'hash-a', ttlSeconds(60));
    expect(await store.get('otp:a')).toBe('hash-a');
    expect(await redis.get(`${keys.prefix}otp:a`)).toBe('hash-a');
    expect(await redis.exists('otp:a')).toBe(0); // nothing outside the prefix
    expect(await store.delete('otp:a')).toBe(true);
    expect(await store.delete('otp:a')).toBe(false);
    expect(await store.get('otp:a')).toBeNull();
  });

  it('overwrites with the new TTL', async () => {
    await store.set('overwrite', 'one', ttlSeconds(3600));
    await store.set('overwrite', 'two', ttlSeconds(5));
    expect(await store.get('overwrite')).toBe('two');
    const remaining = await store.remainingTtl('overwrite');
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(5000);
    expect(await store.remainingTtl('never-written')).toBeNull();
  });

  it('lets a key expire', async () => {
    // Short TTLs, but not so short that a busy machine (Keycloak starting beside) expires them early.
    await store.set('short', 'v', ttlMillis(400));
    expect(await store.get('short')).toBe('v');
    await sleep(600);
    expect(await store.get('short')).toBeNull();
  });

  it('counts atomically and sets the window on the first increment only', async () => {
    const first = await store.increment('rate:ip:1', ttlSeconds(60));
    expect(first.count).toBe(1);
    expect(first.ttlMillis).toBeGreaterThan(59_000);
    expect(first.ttlMillis).toBeLessThanOrEqual(60_000);

    const counts = await Promise.all(Array.from({ length: 20 }, () => store.increment('rate:ip:1', ttlSeconds(3600))));
    expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    // The later, longer TTL did not extend the window the first increment opened.
    expect(Math.max(...counts.map((c) => c.ttlMillis))).toBeLessThanOrEqual(60_000);
    expect(await redis.pttl(`${keys.prefix}rate:ip:1`)).toBeLessThanOrEqual(60_000);
  });

  it('starts a new window once the old one expired', async () => {
    expect((await store.increment('rate:short', ttlMillis(400))).count).toBe(1);
    expect((await store.increment('rate:short', ttlMillis(400))).count).toBe(2);
    await sleep(600);
    expect((await store.increment('rate:short', ttlMillis(400))).count).toBe(1);
  });

  it('gives a counter found without a TTL one (self-healing, no lock-out forever)', async () => {
    await redis.set(`${keys.prefix}rate:legacy`, '7'); // written by something else, no TTL
    const counter = await store.increment('rate:legacy', ttlSeconds(30));
    expect(counter.count).toBe(8);
    expect(await redis.pttl(`${keys.prefix}rate:legacy`)).toBeGreaterThan(0);
  });

  it('takes one back from a counter, keeping its window; never below zero, never brings an expired one back', async () => {
    await store.increment('rate:refund', ttlSeconds(60));
    await store.increment('rate:refund', ttlSeconds(60));
    const before = await redis.pttl(`${keys.prefix}rate:refund`);
    await store.decrement('rate:refund');
    expect(await redis.get(`${keys.prefix}rate:refund`)).toBe('1');
    const after = await redis.pttl(`${keys.prefix}rate:refund`);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(before);
    await Promise.all([store.decrement('rate:refund'), store.decrement('rate:refund')]);
    expect(await redis.get(`${keys.prefix}rate:refund`)).toBe('0');
    await store.decrement('rate:gone');
    expect(await redis.exists(`${keys.prefix}rate:gone`)).toBe(0);
  });

  it('hands a single-use value to exactly one of 10 concurrent getAndDelete calls', async () => {
    await store.set('proof:1', 'proof-value', ttlSeconds(60));
    // Separate connections, so the calls really race on the server rather than queue on one socket.
    const clients = await Promise.all(Array.from({ length: 10 }, () => connectRedis(redisUrl)));
    try {
      const stores = clients.map((c) => new RedisEphemeralStore({ redis: c, keyPrefix: keys.prefix }));
      const results = await Promise.all(stores.map((s) => s.getAndDelete('proof:1')));
      expect(results.filter((r) => r !== null)).toEqual(['proof-value']);
      expect(results.filter((r) => r === null)).toHaveLength(9);
      expect(await store.get('proof:1')).toBeNull();
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('deletes only while the value is unchanged, for exactly one of 10 concurrent callers', async () => {
    await store.set('cad:1', 'v1', ttlSeconds(60));
    const results = await Promise.all(Array.from({ length: 10 }, () => store.deleteIfEquals('cad:1', 'v1')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.get('cad:1')).toBeNull();
    await store.set('cad:2', 'v2', ttlSeconds(60));
    expect(await store.deleteIfEquals('cad:2', 'v1')).toBe(false);
    expect(await store.get('cad:2')).toBe('v2');
    expect(await store.deleteIfEquals('cad:absent', 'v1')).toBe(false);
  });

  it('sets if absent: one winner among concurrent callers, and only until the key expires', async () => {
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => store.setIfAbsent('lock:1', `owner-${i}`, ttlMillis(400))));
    expect(won.filter(Boolean)).toHaveLength(1);
    const owner = `owner-${won.indexOf(true)}`;
    expect(await store.get('lock:1')).toBe(owner);
    expect(await store.setIfAbsent('lock:1', 'late', ttlSeconds(10))).toBe(false);
    expect(await store.get('lock:1')).toBe(owner);
    await sleep(600);
    expect(await store.setIfAbsent('lock:1', 'after-expiry', ttlSeconds(10))).toBe(true);
  });

  it('locks and reads in one step: only the one caller that took the lock gets the value', async () => {
    await store.set('record:1', 'flow-state', ttlSeconds(60));
    const got = await Promise.all(Array.from({ length: 10 }, () => store.lockAndGet('record-lock:1', '1', ttlSeconds(10), 'record:1')));
    expect(got.filter((g) => g !== null)).toEqual([{ value: 'flow-state' }]);
    expect(await redis.pttl(`${keys.prefix}record-lock:1`)).toBeGreaterThan(9_000);
    // A lock taken on a missing record: the lock is held, the value is null.
    expect(await store.lockAndGet('record-lock:2', '1', ttlSeconds(10), 'record:missing')).toEqual({ value: null });
    expect(await store.get('record-lock:2')).toBe('1');
    expect(await store.lockAndGet('record-lock:2', '1', ttlSeconds(10), 'record:missing')).toBeNull();
  });

  it('deletes several keys in one call, true when any of them existed', async () => {
    await store.set('many:a', 'a', ttlSeconds(60));
    await store.set('many:b', 'b', ttlSeconds(60));
    expect(await store.delete('many:a', 'many:b', 'many:never')).toBe(true);
    expect([await store.get('many:a'), await store.get('many:b')]).toEqual([null, null]);
    expect(await store.delete('many:a', 'many:b')).toBe(false);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('reports an unreachable Redis as DEPENDENCY_UNAVAILABLE', async () => {
    const dead = await connectRedis(redisUrl);
    dead.disconnect();
    const unreachable = new RedisEphemeralStore({ redis: dead, keyPrefix: keys.prefix });
    const error = await unreachable.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  // Last: checks what every test above left behind.
  it('left no key without a TTL: every key written through the store expires', async () => {
    await store.set('final:set', 'v', ttlSeconds(60));
    await store.setIfAbsent('final:nx', 'v', ttlSeconds(60));
    await store.increment('final:counter', ttlSeconds(60));
    const written = await allKeys();
    expect(written.length).toBeGreaterThanOrEqual(3);
    for (const key of written) {
      const pttl = await redis.pttl(key);
      expect(pttl, `${key} has PTTL ${pttl}`).toBeGreaterThan(0);
    }
  });
});
