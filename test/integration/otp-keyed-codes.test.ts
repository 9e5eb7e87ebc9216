import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { type KeyedCode, OtpService, type OtpSettings } from '../../bff/src/otp/otp-service.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * Keyed codes (OtpService.sendKeyed / verifyKeyed, password recovery by SMS, decision 0028) against a
 * real Redis: the sign-up rules hold, a code without a destination is counted alike and never matches,
 * and a code is right only for its binding.
 */
const keys = testKeyPrefix('otp-keyed');
let redis: Redis;
let store: RedisEphemeralStore;

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-otp-keyed' });
  store = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
});

const SETTINGS: OtpSettings = {
  hashKey: 'integration-test-otp-hash-key-0123456789',
  ttlSeconds: 600,
  maxAttempts: 5,
  failureWindowSeconds: 3600,
  resendCooldownSeconds: 60,
  perIdentifierPerHour: 5,
  perIdentifierPerDay: 20,
  sendsPerIpPerHour: 30,
  verifiesPerIpPerHour: 60,
  proofTtlSeconds: 900,
};

function service(settings: Partial<OtpSettings> = {}) {
  const refuse = async () => {
    throw new Error('keyed codes deliver through their own callback');
  };
  return new OtpService({ store, settings: { ...SETTINGS, ...settings }, mailer: { send: refuse }, sms: { send: refuse } });
}

let n = 0;
const request = (over: Partial<KeyedCode> = {}): KeyedCode => ({
  purpose: 'password-reset',
  subject: `phone:+9199${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`,
  binding: `user-${++n}:+919900000000`,
  ip: `10.9.${n % 250}.${randomBytes(1)[0]}`,
  ...over,
});

/** Sends and returns the code that was delivered. */
async function sendAndRead(otp: OtpService, req: KeyedCode): Promise<{ code: string; minutes: number }> {
  let got: { code: string; minutes: number } | undefined;
  await otp.sendKeyed({ ...req, deliver: async (code, minutes) => void (got = { code, minutes }) });
  if (!got) throw new Error('nothing delivered');
  return got;
}

async function rateLimited(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('RATE_LIMITED');
  return (err as DomainError).details.retryAfterSeconds as number;
}

const other = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('keyed codes', () => {
  it('the right code verifies once; the TTL reaches the deliverer', async () => {
    const otp = service();
    const req = request();
    const { code, minutes } = await sendAndRead(otp, req);
    expect(code).toMatch(/^\d{6}$/);
    expect(minutes).toBe(10);
    expect(await otp.verifyKeyed({ ...req, code })).toEqual({ verified: true });
    expect(await otp.verifyKeyed({ ...req, code })).toEqual({ verified: false, attemptsLeft: 0 });
  });

  it('is right only for its binding (the account and its phone) and its subject', async () => {
    const otp = service();
    const req = request();
    const { code } = await sendAndRead(otp, req);
    expect(await otp.verifyKeyed({ ...req, binding: 'user-x:+919900000000', code })).toEqual({ verified: false, attemptsLeft: 4 });
    expect(await otp.verifyKeyed({ ...request({ binding: req.binding }), code })).toEqual({ verified: false, attemptsLeft: 0 });
    expect(await otp.verifyKeyed({ ...req, code })).toEqual({ verified: true });
  });

  it('five wrong tries kill the code, then 429 until the window ends; the tries left count down', async () => {
    const otp = service({ resendCooldownSeconds: 0 });
    const req = request();
    const { code } = await sendAndRead(otp, req);
    for (const left of [4, 3, 2, 1]) expect(await otp.verifyKeyed({ ...req, code: other(code) })).toEqual({ verified: false, attemptsLeft: left });
    // The last try says how long until a new code may be sent.
    const last = await otp.verifyKeyed({ ...req, code: other(code) });
    expect(last).toMatchObject({ verified: false, attemptsLeft: 0 });
    expect((last as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(3000);
    expect(await rateLimited(otp.verifyKeyed({ ...req, code }))).toBeGreaterThan(3000);
    // A new code does not bring new tries.
    expect(await rateLimited(otp.sendKeyed({ ...req, deliver: async () => {} }))).toBeGreaterThan(3000);
  });

  it('the resend cooldown and the hourly limit hold per subject, with or without a destination', async () => {
    for (const deliver of [async () => {}, null]) {
      const otp = service({ resendCooldownSeconds: 0, perIdentifierPerHour: 2 });
      const req = request();
      await otp.sendKeyed({ ...req, deliver });
      await otp.sendKeyed({ ...req, deliver });
      expect(await rateLimited(otp.sendKeyed({ ...req, deliver }))).toBeGreaterThan(3000);
      const cooled = service();
      const next = request();
      expect(await cooled.sendKeyed({ ...next, deliver })).toEqual({ expiresInSeconds: 600, resendAfterSeconds: 60 });
      expect(await rateLimited(cooled.sendKeyed({ ...next, deliver }))).toBeGreaterThan(50);
    }
  });

  it('without a destination nothing is sent, no code matches, and wrong tries count the same', async () => {
    const otp = service();
    const req = request();
    expect(await otp.sendKeyed({ ...req, deliver: null })).toEqual({ expiresInSeconds: 600, resendAfterSeconds: 60 });
    for (const left of [4, 3, 2, 1, 0]) {
      expect(await otp.verifyKeyed({ ...req, code: String(left).padStart(6, '0') })).toMatchObject({ verified: false, attemptsLeft: left });
    }
    await rateLimited(otp.verifyKeyed({ ...req, code: '000000' }));
  });

  it('stores nothing in clear: keys and values are HMACs', async () => {
    const otp = service();
    const req = request({ subject: `username:keyed.${randomBytes(3).toString('hex')}` });
    const { code } = await sendAndRead(otp, req);
    const stored = await redis.keys(`${keys.prefix}*`);
    const values = await Promise.all(stored.filter((k) => k.includes('otp:code:')).map((k) => redis.get(k)));
    for (const text of [...stored, ...values]) {
      expect(text).not.toContain(req.subject.slice('username:'.length));
      expect(text).not.toContain(code);
    }
  });

  it('a failed delivery withdraws the code and lifts the cooldown', async () => {
    const otp = service();
    const req = request();
    await expect(
      otp.sendKeyed({
        ...req,
        deliver: async () => {
          throw new DomainError('DELIVERY_FAILED', 'gateway down');
        },
      }),
    ).rejects.toMatchObject({ code: 'DELIVERY_FAILED' });
    const { code } = await sendAndRead(otp, req);
    expect(await otp.verifyKeyed({ ...req, code })).toEqual({ verified: true });
  });
});
