import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { IdempotencyKeys, canonicalJson } from '../../bff/src/flows/partner-enrollment/idempotency.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { PartnerStore } from '../../bff/src/partners/partner-store.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * Partner settings and mappings (PostgreSQL) and Idempotency-Keys (Redis): no Keycloak needed. The
 * authTokens' flows are kept by the flow runtime's Redis store (test/integration/flow-runtime.test.ts).
 */
const keys = testKeyPrefix('partner');
let db: TestDatabase;
let orm: Orm;
let redis: Redis;
let partners: PartnerStore;
let ephemeral: RedisEphemeralStore;
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });

beforeAll(async () => {
  db = await createTestDatabase('partner');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
  partners = new PartnerStore({ em: orm.em });
  redis = await connectRedis(redisUrl, { connectionName: 'test-partner-stores' });
  ephemeral = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
  await keys.cleanup();
  redis?.disconnect();
});

const errorCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: DomainError) => e.code,
  );

describe('PartnerStore', () => {
  it('resolves settings and the mapping in one read; unknown appKeys are null', async () => {
    await partners.createPartner({ clientId: 'bank-a', name: 'A', trustAuth: true, appKeys: [{ appKey: 'a-app', autoEnroll: true, kbaBypass: false }] });
    expect(await partners.resolve('a-app', 'u1')).toEqual({
      clientId: 'bank-a',
      clientEnabled: true,
      trustAuth: true,
      autoEnroll: true,
      kbaBypass: false,
      userId: null,
    });
    expect(await partners.resolve('nope', 'u1')).toBeNull();
    const userId = '6f1c2a9e-0000-4000-8000-0000000000aa';
    expect(await partners.map('a-app', 'u1', userId)).toBe(userId);
    expect((await partners.resolve('a-app', 'u1'))?.userId).toBe(userId);
    await partners.updatePartner('bank-a', { enabled: false });
    expect((await partners.resolve('a-app', 'u1'))?.clientEnabled).toBe(false);
  });

  it('maps a DBP user to exactly one user under concurrent writes', async () => {
    await partners.createPartner({ clientId: 'bank-b', name: 'B', trustAuth: false, appKeys: [{ appKey: 'b-app', autoEnroll: false, kbaBypass: false }] });
    const candidates = Array.from({ length: 20 }, (_, i) => `6f1c2a9e-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const winners = await Promise.all(candidates.map((id) => partners.map('b-app', 'racer', id)));
    expect(new Set(winners).size).toBe(1);
    expect(candidates).toContain(winners[0]);
    const rows = await orm.em.getConnection().execute('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', ['b-app', 'racer']);
    expect(rows).toHaveLength(1);
  });

  it('keeps enrolled resolutions for cacheMs: its own changes clear them, another process is seen after cacheMs', async () => {
    let now = Date.now();
    const cached = new PartnerStore({ em: orm.em, cacheMs: 5_000, now: () => new Date(now) });
    const other = new PartnerStore({ em: orm.em });
    await cached.createPartner({ clientId: 'bank-e', name: 'E', trustAuth: false, appKeys: [{ appKey: 'e-app', autoEnroll: false, kbaBypass: false }] });
    expect((await cached.resolve('e-app', 'new-user'))?.userId).toBeNull();
    await other.map('e-app', 'new-user', '6f1c2a9e-0000-4000-8000-0000000000ee');
    // Not enrolled is never kept: the new mapping is seen at once.
    expect((await cached.resolve('e-app', 'new-user'))?.userId).toBe('6f1c2a9e-0000-4000-8000-0000000000ee');

    await other.updatePartner('bank-e', { enabled: false });
    expect((await cached.resolve('e-app', 'new-user'))?.clientEnabled).toBe(true);
    now += 5_000;
    expect((await cached.resolve('e-app', 'new-user'))?.clientEnabled).toBe(false);
    await cached.updatePartner('bank-e', { enabled: true });
    expect((await cached.resolve('e-app', 'new-user'))?.clientEnabled).toBe(true);
  });

  it("refuses a taken client id and another partner's appKey, changing nothing", async () => {
    await partners.createPartner({ clientId: 'bank-c', name: 'C', trustAuth: false, appKeys: [{ appKey: 'c-app', autoEnroll: false, kbaBypass: false }] });
    expect(await errorCode(partners.createPartner({ clientId: 'bank-c', name: 'C2', trustAuth: true, appKeys: [] }))).toBe('CONFLICT');
    expect(
      await errorCode(
        partners.createPartner({ clientId: 'bank-d', name: 'D', trustAuth: true, appKeys: [{ appKey: 'c-app', autoEnroll: true, kbaBypass: true }] }),
      ),
    ).toBe('CONFLICT');
    expect(await partners.getPartner('bank-d')).toBeNull();
    expect(await errorCode(partners.putAppKey('bank-a', { appKey: 'c-app', autoEnroll: true, kbaBypass: true }))).toBe('CONFLICT');
    expect((await partners.getPartner('bank-c'))?.appKeys).toEqual([{ appKey: 'c-app', autoEnroll: false, kbaBypass: false }]);
    expect(await errorCode(partners.putAppKey('no-bank', { appKey: 'x-app', autoEnroll: true, kbaBypass: true }))).toBe('NOT_FOUND');
  });
});

describe('IdempotencyKeys', () => {
  const idem = (hashKey = 'test-idempotency-hash-key-0123456789') => new IdempotencyKeys({ store: ephemeral, encryption, ttlSeconds: 60, hashKey });

  it('replays the first answer, sealed at rest; another body is IDEMPOTENCY_KEY_REUSED; errors free the key', async () => {
    const keysOf = idem();
    let runs = 0;
    const handle = async () => ({ status: 201, body: { authToken: `secret-token-${++runs}` } });
    const first = await keysOf.run('bank-a', 'k1', { a: 1, b: [1, { c: 2 }] }, handle);
    const replay = await keysOf.run('bank-a', 'k1', { b: [1, { c: 2 }], a: 1 }, handle);
    expect(replay).toEqual(first);
    expect(runs).toBe(1);
    const stored = await redis.keys(`${keys.prefix}partner:idempotency:*`);
    for (const k of stored) expect(await redis.get(k)).not.toContain('secret-token');

    expect(await errorCode(keysOf.run('bank-a', 'k1', { a: 2 }, handle))).toBe('IDEMPOTENCY_KEY_REUSED');
    // Another partner's same key is its own key.
    expect((await keysOf.run('bank-b', 'k1', { a: 2 }, handle)).body.authToken).toBe('secret-token-2');

    const failing = async (): Promise<never> => {
      throw new DomainError('UPSTREAM_UNAVAILABLE', 'down');
    };
    expect(await errorCode(keysOf.run('bank-a', 'k2', { a: 1 }, failing))).toBe('UPSTREAM_UNAVAILABLE');
    expect((await keysOf.run('bank-a', 'k2', { a: 1 }, handle)).status).toBe(201);
  });

  it('keeps the body only as a keyed hash (decision 0022): no PII in the entry, nothing a plain hash of the body matches', async () => {
    const body = { pii: { firstName: 'Ottoline', lastName: 'Vashtikar', dob: '1979-04-23', email: 'ottoline.v@example.com', phone: '+919812345678' } };
    await idem().run('bank-a', 'k-pii', body, async () => ({ status: 201, body: {} }));
    const entries = await Promise.all((await redis.keys(`${keys.prefix}partner:idempotency:*`)).map((k) => redis.get(k)));
    const all = entries.join('\n');
    expect(all).toContain('"state":"done"');
    for (const value of ['Ottoline', 'Vashtikar', '1979-04-23', 'ottoline.v@example.com', '9812345678']) expect(all).not.toContain(value);
    expect(all).not.toContain(createHash('sha256').update(canonicalJson(body)).digest('hex'));
    // Keyed: the same body under another key (another deployment) is another fingerprint.
    expect(await errorCode(idem('another-deployment-hash-key-987654').run('bank-a', 'k-pii', body, async () => ({ status: 201, body: {} })))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('a key whose first request is still running is a CONFLICT', async () => {
    const keysOf = idem();
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const slow = keysOf.run('bank-a', 'k3', {}, () => {
      started();
      return new Promise((resolve) => (release = () => resolve({ status: 201, body: {} })));
    });
    await running;
    expect(await errorCode(keysOf.run('bank-a', 'k3', {}, async () => ({ status: 201, body: {} })))).toBe('CONFLICT');
    release();
    await slow;
  });
});
