import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { RateLimiter, refusedCredential, type Limit } from '../../bff/src/rate-limits/rate-limiter.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/** The shared limiter (decision 0019) against a real Redis: counting, refunds, races, and what its keys hold. */
const keys = testKeyPrefix('rate-limiter');
const HASH_KEY = 'integration-test-rate-limit-key-0123456789';
let redis: Redis;
let second: Redis;
let limiter: RateLimiter;
let otherProcess: RateLimiter;

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-rate-limiter' });
  second = await connectRedis(redisUrl, { connectionName: 'test-rate-limiter-2' });
  limiter = new RateLimiter({ store: new RedisEphemeralStore({ redis, keyPrefix: keys.prefix }), hashKey: HASH_KEY });
  // Another BFF process: its own connection, the same prefix and key.
  otherProcess = new RateLimiter({ store: new RedisEphemeralStore({ redis: second, keyPrefix: keys.prefix }), hashKey: HASH_KEY });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
  second?.disconnect();
});

let n = 0;
const limit = (per: Limit['per'], max: number, windowSeconds = 3600): Limit => ({ name: `t${++n}`, per, max, windowSeconds, message: `limit ${n}` });

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

const wrongPassword = () => Promise.reject(new DomainError('UNAUTHENTICATED', 'The credentials are not valid'));

describe('RateLimiter', () => {
  it('counts every request per IP; over the limit RATE_LIMITED with the time left in the window; other IPs unaffected', async () => {
    const perIp = limit('ip', 3, 600);
    for (let i = 0; i < 3; i++) await limiter.take({ ip: '198.51.100.1' }, perIp);
    const err = await refusal(limiter.take({ ip: '198.51.100.1' }, perIp));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toBe(perIp.message);
    expect(err.details.retryAfterSeconds).toBeGreaterThan(590);
    expect(err.details.retryAfterSeconds).toBeLessThanOrEqual(600);
    await limiter.take({ ip: '198.51.100.2' }, perIp);
  });

  it('counts an IPv6 client by its /64', async () => {
    const perIp = limit('ip', 2);
    await limiter.take({ ip: '2001:db8:5:6::1' }, perIp);
    await limiter.take({ ip: '2001:db8:5:6:ffff::2' }, perIp);
    expect((await refusal(limiter.take({ ip: '2001:db8:5:6::3' }, perIp))).code).toBe('RATE_LIMITED');
    await limiter.take({ ip: '2001:db8:5:7::1' }, perIp);
  });

  it('is shared by every process using the same Redis: both count into one window', async () => {
    const perId = limit('identifier', 4);
    const who = { ip: '198.51.100.3', identifier: 'shared@example.com' };
    await limiter.take(who, perId);
    await otherProcess.take(who, perId);
    await limiter.take(who, perId);
    await otherProcess.take(who, perId);
    expect((await refusal(limiter.take(who, perId))).code).toBe('RATE_LIMITED');
    expect((await refusal(otherProcess.take(who, perId))).code).toBe('RATE_LIMITED');
  });

  it('answers with the longest wait of the limits that are over', async () => {
    const short = limit('ip', 1, 60);
    const long = limit('identifier', 1, 3600);
    const who = { ip: '198.51.100.4', identifier: 'both@example.com' };
    await limiter.take(who, short, long);
    const err = await refusal(limiter.take(who, short, long));
    expect(err.details.retryAfterSeconds).toBeGreaterThan(3500);
    expect(err.details.limit).toBe(long.name);
  });

  it('counts an identifier-and-ip limit per pair: the same identifier from another network, or another identifier, is not affected', async () => {
    const pair = limit('identifier-and-ip', 2);
    const attacker = { ip: '203.0.113.66', identifier: 'victim@example.com' };
    await limiter.take(attacker, pair);
    await limiter.take(attacker, pair);
    expect((await refusal(limiter.take(attacker, pair))).code).toBe('RATE_LIMITED');
    await limiter.take({ ip: '198.51.100.77', identifier: 'victim@example.com' }, pair);
    await limiter.take({ ip: '203.0.113.66', identifier: 'other@example.com' }, pair);
  });

  it('attempt: a failure counts, a success or an error that is not a failure takes the count back', async () => {
    const failures = limit('identifier-and-ip', 2);
    const who = { ip: '198.51.100.5', identifier: 'person@example.com' };
    // Any number of successes and outages use nothing up.
    for (let i = 0; i < 5; i++) expect(await limiter.attempt(who, [failures], async () => 'tokens', refusedCredential)).toBe('tokens');
    for (let i = 0; i < 3; i++) {
      const down = await refusal(
        limiter.attempt(who, [failures], () => Promise.reject(new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'down')), refusedCredential),
      );
      expect(down.code).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
    }
    expect((await refusal(limiter.attempt(who, [failures], wrongPassword, refusedCredential))).code).toBe('UNAUTHENTICATED');
    expect((await refusal(limiter.attempt(who, [failures], wrongPassword, refusedCredential))).code).toBe('UNAUTHENTICATED');
    // Over: the attempt is not made at all (the right password would not be checked either).
    let ran = false;
    const limited = await refusal(
      limiter.attempt(
        who,
        [failures],
        async () => {
          ran = true;
          return 'tokens';
        },
        refusedCredential,
      ),
    );
    expect(limited.code).toBe('RATE_LIMITED');
    expect(ran).toBe(false);
  });

  it('attempt: an answer can be the failure (a page that says "wrong password")', async () => {
    const failures = limit('ip', 1);
    const who = { ip: '198.51.100.6' };
    const step = (error: string | null) => limiter.attempt(who, [failures], async () => ({ error }), { result: (v) => v.error === 'password-wrong' });
    expect(await step(null)).toEqual({ error: null });
    expect(await step('password-wrong')).toEqual({ error: 'password-wrong' });
    expect((await refusal(step(null))).code).toBe('RATE_LIMITED');
  });

  it('attempt: 20 concurrent wrong guesses with room for 5 make exactly 5 attempts', async () => {
    const failures = limit('ip', 5);
    const who = { ip: '198.51.100.8' };
    let made = 0;
    const guesses = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        limiter.attempt(
          who,
          [failures],
          async () => {
            made++;
            await new Promise((r) => setTimeout(r, 20));
            throw new DomainError('UNAUTHENTICATED', 'The credentials are not valid');
          },
          refusedCredential,
        ),
      ),
    );
    expect(made).toBe(5);
    const codes = guesses.map((g) => (g.status === 'rejected' ? (g.reason as DomainError).code : 'ok'));
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(15);
  });

  it('keeps no address or identifier in clear, and every counter expires', async () => {
    await limiter.take({ ip: '192.0.2.99', identifier: 'clear.text@example.com' }, limit('identifier-and-ip', 5));
    const written = await redis.keys(`${keys.prefix}*`);
    expect(written.length).toBeGreaterThan(0);
    for (const key of written) {
      expect(key).not.toMatch(/192\.0\.2|example\.com|198\.51|2001:db8/);
      expect(key).toMatch(new RegExp(`^${keys.prefix}limit:t\\d+:[A-Za-z0-9_-]{43}$`));
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    }
  });
});
