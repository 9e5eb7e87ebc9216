import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { ConfirmationLinks, type PendingConfirmation } from '../../bff/src/flows/user-management/confirmation-links.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import type { EmailMessage } from '../../bff/src/ports/messaging.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * What confirmation links keep in Redis (decision 0022): the address only sealed, bound to the link
 * and its account, and the throttle keys only an HMAC of it; links written in clear before still work.
 */
const keys = testKeyPrefix('confirm-links');
let redis: Redis;
let store: RedisEphemeralStore;
const mails: EmailMessage[] = [];
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
const ADDRESS = 'quillon.vashtikar@example.com';

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-confirm-links' });
  store = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
});

/** Built per use: `store` exists only after beforeAll. */
const links = () =>
  new ConfirmationLinks({
    store,
    mailer: { send: async (m) => void mails.push(m) },
    settings: { publicUrl: 'http://bff.test', ttlSeconds: 3600, cooldownSeconds: 60, mailsPerHour: 5, requestsPerIpPerHour: 30 },
    encryption,
    hashKey: 'confirm-links-test-hash-key-0123456789',
  });

const tokenOfLastMail = () => /token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)!.text)![1]!;
const linkKey = (token: string) => `${keys.prefix}user-management:confirm:${createHash('sha256').update(token).digest('hex')}`;
async function everything(): Promise<string> {
  const all = await redis.keys(`${keys.prefix}*`);
  return (await Promise.all(all.map(async (k) => `${k} ${await redis.get(k)}`))).join('\n');
}
const redeemed = async (token: string) => {
  const seen: PendingConfirmation[] = [];
  await links().redeem(token, async (p) => void seen.push(p));
  return seen;
};

describe('ConfirmationLinks at rest', () => {
  it('keeps the address sealed in the link and hashed in the throttle keys; the link still confirms it', async () => {
    await links().issue({ userId: 'user-1', email: ADDRESS, firstName: 'Quillon' });
    await links()
      .admitResend(ADDRESS, '203.0.113.9')
      .catch(() => undefined);
    const token = tokenOfLastMail();
    const stored = await everything();
    expect(stored).toContain('sealedEmail');
    for (const clear of [ADDRESS, 'quillon', 'Quillon', '203.0.113.9', createHash('sha256').update(ADDRESS).digest('hex')]) expect(stored).not.toContain(clear);
    expect(await redeemed(token)).toEqual([{ userId: 'user-1', email: ADDRESS }]);
  });

  it('a record moved to another account does not confirm anything', async () => {
    await links().issue({ userId: 'user-2', email: ADDRESS });
    const token = tokenOfLastMail();
    const record = JSON.parse((await redis.get(linkKey(token)))!) as Record<string, unknown>;
    await redis.set(linkKey(token), JSON.stringify({ ...record, userId: 'attacker' }), 'EX', 60);
    await expect(redeemed(token)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('a link written in clear by an older version still confirms until it expires', async () => {
    const token = randomBytes(32).toString('base64url');
    await redis.set(linkKey(token), JSON.stringify({ userId: 'user-3', email: ADDRESS, expiresAt: Date.now() + 60_000 }), 'EX', 60);
    expect(await redeemed(token)).toEqual([{ userId: 'user-3', email: ADDRESS }]);
  });
});
