import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import type { EmailMessage, SmsMessage } from '../../bff/src/ports/messaging.ts';
import { OtpService, type OtpSettings } from '../../bff/src/otp/otp-service.ts';
import type { Identifier } from '../../bff/src/accounts/identifiers.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * Every OTP rule against a real Redis, one test each. Delivery is captured in memory here (the real
 * SMTP and SMS adapters are tested in messaging.test.ts and end to end).
 */
const keys = testKeyPrefix('otp');
let redis: Redis;
let store: RedisEphemeralStore;

beforeAll(async () => {
  redis = await connectRedis(redisUrl, { connectionName: 'test-otp' });
  store = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await keys.cleanup();
  redis?.disconnect();
});

const DEFAULTS: OtpSettings = {
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

interface Harness {
  otp: OtpService;
  mails: EmailMessage[];
  sms: SmsMessage[];
  /** The code in the last message to `to`. */
  lastCode(to: string): string;
}

function harness(settings: Partial<OtpSettings> = {}, opts: { random?: (n: number) => number; failDelivery?: boolean } = {}): Harness {
  const mails: EmailMessage[] = [];
  const sms: SmsMessage[] = [];
  const refuse = () => {
    throw new DomainError('DELIVERY_FAILED', 'gateway down');
  };
  const otp = new OtpService({
    store,
    settings: { ...DEFAULTS, ...settings },
    mailer: { send: async (m) => (opts.failDelivery ? refuse() : void mails.push(m)) },
    sms: { send: async (m) => (opts.failDelivery ? refuse() : void sms.push(m)) },
    ...(opts.random ? { random: opts.random } : {}),
  });
  const lastCode = (to: string) => {
    const text = [...mails.filter((m) => m.to === to).map((m) => m.text), ...sms.filter((m) => m.to === to).map((m) => m.text)].at(-1) ?? '';
    const code = /\b(\d{6})\b/.exec(text)?.[1];
    if (!code) throw new Error('no code sent');
    return code;
  };
  return { otp, mails, sms, lastCode };
}

let n = 0;
const email = (): Identifier => ({ kind: 'email', value: `otp.${randomBytes(4).toString('hex')}.${++n}@example.com` });
const phone = (): Identifier => ({ kind: 'phone', value: `+9199${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}` });
const ip = () => `10.${n % 250}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError)
      return { code: e.code, fields: e.fields.map((f) => `${f.field}:${f.reason}`), retryAfterSeconds: e.details.retryAfterSeconds, reason: e.details.reason };
    throw e;
  }
  throw new Error('expected a failure');
}

const WRONG_CODE = { code: 'VALIDATION_FAILED', fields: ['code:invalid'], retryAfterSeconds: undefined };

async function allEntries(): Promise<[string, string][]> {
  const found: [string, string][] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of batch) found.push([key, (await redis.get(key)) ?? '']);
  } while (cursor !== '0');
  return found;
}

/** A wrong code that surely differs from `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('OTP generation', () => {
  it('sends 6 digits from the random source, keeping leading zeros, and that code verifies', async () => {
    const h = harness({}, { random: () => 42 });
    const id = email();
    expect(await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() })).toEqual({ expiresInSeconds: 600, resendAfterSeconds: 60 });
    expect(h.lastCode(id.value)).toBe('000042');
    expect(h.mails[0]?.text).toContain('000042');
    const { proof } = await h.otp.verify({ identifier: id, purpose: 'sign-up', code: '000042', ip: ip() });
    expect(proof).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('draws codes from a CSPRNG by default: six digits, not all the same', async () => {
    const h = harness({ resendCooldownSeconds: 0, perIdentifierPerHour: 100 });
    const codes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const id = email();
      await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
      codes.add(h.lastCode(id.value));
    }
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(1);
  });

  it('stores only keyed hashes: no code or identifier in Redis keys or values, and another key cannot verify', async () => {
    const h = harness({}, { random: () => 123456 });
    const id = phone();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: '10.9.9.9' });
    const entries = await allEntries();
    expect(entries.length).toBeGreaterThan(0);
    for (const [key, value] of entries) {
      for (const secret of ['123456', id.value, id.value.slice(1), '10.9.9.9']) {
        expect(key).not.toContain(secret);
        expect(value).not.toContain(secret);
      }
    }
    const otherKey = harness({ hashKey: 'another-otp-hash-key-of-enough-length-000' });
    expect(await failure(otherKey.otp.verify({ identifier: id, purpose: 'sign-up', code: '123456', ip: ip() }))).toEqual(WRONG_CODE);
    await h.otp.verify({ identifier: id, purpose: 'sign-up', code: '123456', ip: ip() });
  });

  it('sends SMS to phones and mail to email addresses, in Hindi when asked', async () => {
    const h = harness({}, { random: () => 314159 });
    const p = phone();
    await h.otp.send({ identifier: p, purpose: 'sign-up', ip: ip(), language: 'hi' });
    expect(h.sms).toEqual([{ to: p.value, text: expect.stringContaining('314159') }]);
    expect(h.sms[0]?.text).toContain('साइन-अप');
    const e = email();
    await h.otp.send({ identifier: e, purpose: 'sign-up', ip: ip() });
    expect(h.mails).toEqual([expect.objectContaining({ to: e.value, subject: 'Your sign-up code', language: 'en' })]);
  });
});

describe('OTP validity', () => {
  it('keeps a code for OTP_TTL_SECONDS (10 minutes by default)', async () => {
    const h = harness({}, { random: () => 111111 });
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const ttls = await Promise.all((await allEntries()).map(([key]) => redis.pttl(key)));
    expect(ttls.every((t) => t > 0)).toBe(true);
    // The code's key: its TTL is the longest that is at most 600 s (proofs 900 s, windows 1 h+).
    expect(ttls.filter((t) => t <= 600_000).some((t) => t > 590_000)).toBe(true);
  });

  it('refuses a code once it expired', async () => {
    const h = harness({ ttlSeconds: 1 }, { random: () => 222222 });
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    await sleep(1_200);
    expect(await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: '222222', ip: ip() }))).toEqual(WRONG_CODE);
  });

  it('is single use: the second check of the right code fails', async () => {
    const h = harness();
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    await h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() });
    expect(await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() }))).toEqual(WRONG_CODE);
  });

  it('hands one proof to one of 10 concurrent right answers', async () => {
    const h = harness({ verifiesPerIpPerHour: 100 });
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it('is bound to its purpose and identifier', async () => {
    const h = harness();
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    expect(await failure(h.otp.verify({ identifier: id, purpose: 'change-identifier', code, ip: ip() }))).toEqual(WRONG_CODE);
    expect(await failure(h.otp.verify({ identifier: email(), purpose: 'sign-up', code, ip: ip() }))).toEqual(WRONG_CODE);
    await h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() });
  });
});

describe('OTP attempts', () => {
  it('kills the code after 5 wrong tries: the right code is refused afterwards (429 with Retry-After)', async () => {
    const h = harness();
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    for (let i = 0; i < 5; i++) expect(await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: wrong(code), ip: ip() }))).toEqual(WRONG_CODE);
    const refused = await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() }));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', reason: 'wrong_codes' });
    expect(refused.retryAfterSeconds).toBeGreaterThan(3500);
  });

  it('still accepts the right code after 4 wrong tries', async () => {
    const h = harness();
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    for (let i = 0; i < 4; i++) await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: wrong(code), ip: ip() }));
    expect((await h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: ip() })).proof).toBeTruthy();
  });

  it('does not reset the failure count with a new code', async () => {
    const h = harness({ resendCooldownSeconds: 0 });
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const first = h.lastCode(id.value);
    for (let i = 0; i < 3; i++) await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: wrong(first), ip: ip() }));
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const second = h.lastCode(id.value);
    for (let i = 0; i < 2; i++) expect(await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: wrong(second), ip: ip() }))).toEqual(WRONG_CODE);
    // 5 wrong tries in all: the second code is dead too.
    expect(await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code: second, ip: ip() }))).toMatchObject({ code: 'RATE_LIMITED' });
    // ...and no new code is sent until the failure window ends.
    expect(await failure(h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() }))).toMatchObject({ code: 'RATE_LIMITED', reason: 'wrong_codes' });
  });

  it('throttles checks per client IP, whatever the identifier (429 with Retry-After)', async () => {
    const h = harness({ verifiesPerIpPerHour: 3 });
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const code = h.lastCode(id.value);
    for (let i = 0; i < 3; i++) await failure(h.otp.verify({ identifier: email(), purpose: 'sign-up', code: '000000', ip: '10.200.0.1' }));
    const limited = await failure(h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: '10.200.0.1' }));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', reason: 'network' });
    expect(limited.retryAfterSeconds).toBeGreaterThan(3500);
    expect((await h.otp.verify({ identifier: id, purpose: 'sign-up', code, ip: '10.200.0.2' })).proof).toBeTruthy();
  });
});

describe('OTP sending limits', () => {
  it('waits OTP_RESEND_COOLDOWN_SECONDS (60 s) between two codes to one identifier', async () => {
    const h = harness();
    const id = email();
    await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const limited = await failure(h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() }));
    // The reason lets a page show a countdown to the next code rather than an error (issue 17 §2).
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', reason: 'cooldown' });
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(h.mails).toHaveLength(1);
  });

  it('sends at most 5 codes per identifier per hour', async () => {
    const h = harness({ resendCooldownSeconds: 0 });
    const id = email();
    for (let i = 0; i < 5; i++) await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const limited = await failure(h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() }));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', reason: 'codes_sent' });
    expect(limited.retryAfterSeconds).toBeGreaterThan(3500);
    expect(h.mails).toHaveLength(5);
    await h.otp.send({ identifier: email(), purpose: 'sign-up', ip: ip() });
  });

  it('sends at most 20 codes per identifier per day', async () => {
    const h = harness({ resendCooldownSeconds: 0, perIdentifierPerHour: 1000 });
    const id = phone();
    for (let i = 0; i < 20; i++) await h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    const limited = await failure(h.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() }));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.retryAfterSeconds).toBeGreaterThan(23 * 3600);
    expect(h.sms).toHaveLength(20);
  });

  it('limits the codes one client IP may ask for', async () => {
    const h = harness({ sendsPerIpPerHour: 3 });
    for (let i = 0; i < 3; i++) await h.otp.send({ identifier: email(), purpose: 'sign-up', ip: '10.201.0.1' });
    const limited = await failure(h.otp.send({ identifier: email(), purpose: 'sign-up', ip: '10.201.0.1' }));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', reason: 'network' });
    expect(limited.retryAfterSeconds).toBeGreaterThan(3500);
    await h.otp.send({ identifier: email(), purpose: 'sign-up', ip: '10.201.0.2' });
  });
});

describe('OTP delivery failure', () => {
  it('is DELIVERY_FAILED, the code is withdrawn (never usable) and the cooldown lifted', async () => {
    const id = email();
    const broken = harness({}, { random: () => 555555, failDelivery: true });
    expect(await failure(broken.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() }))).toMatchObject({ code: 'DELIVERY_FAILED' });
    expect(await failure(broken.otp.verify({ identifier: id, purpose: 'sign-up', code: '555555', ip: ip() }))).toEqual(WRONG_CODE);
    const working = harness();
    await working.otp.send({ identifier: id, purpose: 'sign-up', ip: ip() });
    expect(working.mails).toHaveLength(1);
  });
});

describe('verification proofs', () => {
  async function proofFor(h: Harness, id: Identifier, purpose: 'sign-up' | 'change-identifier' = 'sign-up') {
    await h.otp.send({ identifier: id, purpose, ip: ip() });
    return (await h.otp.verify({ identifier: id, purpose, code: h.lastCode(id.value), ip: ip() })).proof;
  }

  it('are bound to the identifier and purpose; check does not consume, consume does, once', async () => {
    const h = harness();
    const id = email();
    const proof = await proofFor(h, id);
    const refused = { code: 'VALIDATION_FAILED', fields: ['proof:proof_invalid'], retryAfterSeconds: undefined };
    expect(await failure(h.otp.check(proof, email(), 'sign-up', 'proof'))).toEqual(refused);
    expect(await failure(h.otp.check(proof, id, 'change-identifier', 'proof'))).toEqual(refused);
    expect(await failure(h.otp.consume(proof, { kind: 'phone', value: '+919812345678' }, 'sign-up', 'proof'))).toEqual(refused);
    await h.otp.check(proof, id, 'sign-up', 'proof');
    await h.otp.check(proof, id, 'sign-up', 'proof');
    await h.otp.consume(proof, id, 'sign-up', 'proof');
    expect(await failure(h.otp.consume(proof, id, 'sign-up', 'proof'))).toEqual(refused);
    expect(await failure(h.otp.check(proof, id, 'sign-up', 'proof'))).toEqual(refused);
    expect(await failure(h.otp.check('not-a-proof', id, 'sign-up', 'proof'))).toEqual(refused);
  });

  it('go to exactly one of 10 concurrent consumers', async () => {
    const h = harness();
    const id = phone();
    const proof = await proofFor(h, id, 'change-identifier');
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => h.otp.consume(proof, id, 'change-identifier', 'proof')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it('expire after OTP_PROOF_TTL_SECONDS', async () => {
    const h = harness({ proofTtlSeconds: 1 });
    const id = email();
    const proof = await proofFor(h, id);
    await sleep(1_200);
    expect(await failure(h.otp.consume(proof, id, 'sign-up', 'proof'))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
