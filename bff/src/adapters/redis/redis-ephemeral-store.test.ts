import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { DomainError } from '../../kernel/errors.ts';
import { ttlSeconds } from '../../ports/ephemeral-store.ts';
import { parseCounter, RedisEphemeralStore } from './redis-ephemeral-store.ts';

describe('parseCounter', () => {
  it('reads the script reply', () => expect(parseCounter([3, 59_000])).toEqual({ count: 3, ttlMillis: 59_000 }));
  it('refuses anything else', () => {
    for (const bad of [null, 3, [1], ['1', 2], [1, 2, 3]]) expect(() => parseCounter(bad)).toThrow();
  });
});

describe('RedisEphemeralStore increment script loading', () => {
  it('falls back from EVALSHA to EVAL when the server does not know the script yet', async () => {
    const calls: string[] = [];
    const redis = {
      evalsha: async () => {
        calls.push('evalsha');
        throw new Error('NOSCRIPT No matching script. Please use EVAL.');
      },
      eval: async (_script: string, _numKeys: number, key: string) => {
        calls.push(`eval ${key}`);
        return [1, 1000];
      },
    } as unknown as Redis;
    const store = new RedisEphemeralStore({ redis, keyPrefix: 'p:' });
    expect(await store.increment('k', ttlSeconds(1))).toEqual({ count: 1, ttlMillis: 1000 });
    expect(calls).toEqual(['evalsha', 'eval p:k']);
  });
});

describe('RedisEphemeralStore without a server', () => {
  const failing = new Proxy({}, { get: () => () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) }) as Redis;
  const store = new RedisEphemeralStore({ redis: failing, keyPrefix: 'x:' });

  it('turns Redis failures into DEPENDENCY_UNAVAILABLE without the key in the message', async () => {
    const error = await store.get('otp:secret-identifier').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect((error as DomainError).message).not.toContain('secret-identifier');
  });
  it('refuses empty keys as a programming error, not as an outage', async () => {
    await expect(store.set('', 'v', ttlSeconds(1))).rejects.toThrow(RangeError);
  });
  it('needs a prefix', () => {
    expect(() => new RedisEphemeralStore({ redis: failing, keyPrefix: '' })).toThrow(RangeError);
  });
});
