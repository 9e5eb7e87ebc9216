import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { SignInTickets } from '../../bff/src/flows/sign-up/sign-in-tickets.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/** The sign-in tickets of a finished sign-up (issue 17 §3) against a real Redis. */
const keys = testKeyPrefix('tickets');
let redis: Redis;
let tickets: SignInTickets;

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-sign-in-tickets' });
  tickets = new SignInTickets({ store: new RedisEphemeralStore({ redis, keyPrefix: keys.prefix }), ttlSeconds: 300 });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
});

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('sign-in tickets', () => {
  it('are 256-bit base64url values, stored only as their hash, with the user and tab and a TTL', async () => {
    const userId = randomUUID();
    const ticket = await tickets.mint({ userId, tabId: 'tab-A1' });
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(ticket, 'base64url')).toHaveLength(32);
    const stored = await redis.keys(`${keys.prefix}signup:ticket:*`);
    const key = `${keys.prefix}signup:ticket:${createHash('sha256').update(ticket).digest('base64url')}`;
    expect(stored).toContain(key);
    expect(stored.some((k) => k.includes(ticket))).toBe(false);
    expect(JSON.parse((await redis.get(key))!)).toEqual({ userId, tabId: 'tab-A1' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(300_000);
    expect(new Set(await Promise.all(Array.from({ length: 20 }, () => tickets.mint({ userId, tabId: 't' })))).size).toBe(20);
  });

  it('are redeemed once, for their tab: a second redeem is refused like an unknown ticket', async () => {
    const userId = randomUUID();
    const ticket = await tickets.mint({ userId, tabId: 'tab-B' });
    expect(await tickets.redeem(ticket, 'tab-B')).toEqual({ userId });
    const again = await refusal(tickets.redeem(ticket, 'tab-B'));
    const unknown = await refusal(tickets.redeem('A'.repeat(43), 'tab-B'));
    expect(again.code).toBe('NOT_FOUND');
    expect({ code: unknown.code, message: unknown.message }).toEqual({ code: again.code, message: again.message });
  });

  it('refuse another tab, and are burned by that try (not usable afterwards for the right tab)', async () => {
    const ticket = await tickets.mint({ userId: randomUUID(), tabId: 'tab-C' });
    expect((await refusal(tickets.redeem(ticket, 'tab-other'))).code).toBe('NOT_FOUND');
    expect((await refusal(tickets.redeem(ticket, 'tab-C'))).code).toBe('NOT_FOUND');
  });

  it('refuse malformed tickets and tab ids without looking them up', async () => {
    for (const [t, tab] of [
      ['short', 'tab'],
      ['x'.repeat(44), 'tab'],
      [`${'A'.repeat(42)}=`, 'tab'],
      ['A'.repeat(43), ''],
      ['A'.repeat(43), 'x'.repeat(65)],
      ['A'.repeat(43), 'tab id'],
    ]) {
      expect((await refusal(tickets.redeem(t!, tab!))).code).toBe('NOT_FOUND');
    }
    await expect(tickets.mint({ userId: randomUUID(), tabId: 'bad tab' })).rejects.toThrow(RangeError);
  });

  it('give concurrent redeems of one ticket exactly one winner', async () => {
    const userId = randomUUID();
    const ticket = await tickets.mint({ userId, tabId: 'tab-D' });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => tickets.redeem(ticket, 'tab-D')));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect((won[0] as PromiseFulfilledResult<{ userId: string }>).value).toEqual({ userId });
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason.code).toBe('NOT_FOUND');
  });

  it('expire after their TTL', async () => {
    const short = new SignInTickets({ store: new RedisEphemeralStore({ redis, keyPrefix: keys.prefix }), ttlSeconds: 1 });
    const ticket = await short.mint({ userId: randomUUID(), tabId: 'tab-E' });
    await sleep(1200);
    expect((await refusal(short.redeem(ticket, 'tab-E'))).code).toBe('NOT_FOUND');
  });
});
