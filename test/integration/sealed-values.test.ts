import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountCreationSeal } from '../../bff/src/accounts/account-creation-seal.ts';
import { connectRedis } from '../../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { partnerPiiSeal } from '../../bff/src/flows/partner-enrollment/enroll-user.ts';
import { IdempotencyKeys } from '../../bff/src/flows/partner-enrollment/idempotency.ts';
import { IdentifierSeal } from '../../bff/src/flows/state-claim/actors.ts';
import { HandoffStore } from '../../bff/src/flows/state-claim/handoffs.ts';
import { ConfirmationLinks } from '../../bff/src/flows/user-management/confirmation-links.ts';
import { bindSeal } from '../../bff/src/kernel/crypto/bound-seal.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import type { EmailMessage } from '../../bff/src/ports/messaging.ts';
import type { MemberSnapshot, OutboxChange } from '../../bff/src/upstream-sync/changes.ts';
import { OutboxStore } from '../../bff/src/upstream-sync/outbox-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { redisUrl, testKeyPrefix } from '../support/redis.ts';

/**
 * Every value the BFF seals at rest goes through one helper (`bindSeal`, kernel/crypto/bound-seal.ts).
 * Each kind of value keeps the associated data and format it was always sealed with, so records
 * written before still open: what the code seals here opens with the plain FieldEncryption under the
 * literal associated data of before (AES-GCM's check is the same both ways), and nowhere else.
 * (Flow snapshots: test/integration/flow-runtime.test.ts opens them the same way.)
 */
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
const keys = testKeyPrefix('sealed-values');
let db: TestDatabase;
let orm: Orm;
let redis: Redis;
let ephemeral: RedisEphemeralStore;

beforeAll(async () => {
  db = await createTestDatabase('sealed_values');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
  redis = await connectRedis(redisUrl, { connectionName: 'test-sealed-values' });
  ephemeral = new RedisEphemeralStore({ redis, keyPrefix: keys.prefix });
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
  await keys.cleanup();
  redis?.disconnect();
});

/** Opens `sealed` the way the code before the helper did; JSON values parsed. */
const openJson = (sealed: string, aad: string): unknown => JSON.parse(encryption.open(sealed, aad));

describe('bindSeal', () => {
  it('opens a value only for the record it was sealed for; json and text formats', () => {
    const json = bindSeal<{ a: number[] }, [id: string, part: string]>(encryption, 'json', (id, part) => `thing:${id}:${part}`);
    const sealed = json.seal({ a: [1, 2] }, 'x', 'y');
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/);
    expect(json.open(sealed, 'x', 'y')).toEqual({ a: [1, 2] });
    expect(encryption.open(sealed, 'thing:x:y')).toBe('{"a":[1,2]}');
    expect(() => json.open(sealed, 'x', 'z')).toThrow(/failed authentication/);
    expect(() => json.open(sealed, 'w', 'y')).toThrow(/failed authentication/);

    const text = bindSeal<[id: string]>(encryption, 'text', (id) => `name:${id}`);
    expect(encryption.open(text.seal('Asha "A"', 'x'), 'name:x')).toBe('Asha "A"');
    expect(text.open(encryption.seal('Asha', 'name:x'), 'x')).toBe('Asha');
    expect(() => text.open(text.seal('Asha', 'x'), 'y')).toThrow(/failed authentication/);
  });
});

describe('each sealed value keeps its associated data and format', () => {
  it("partner PII: JSON, bound to the authToken's hash", () => {
    const pii = { firstName: 'Riya', lastName: 'Partner', dob: '1991-02-03' };
    const seal = partnerPiiSeal(encryption);
    expect(openJson(seal.seal(pii, 'abc'), 'partner-auth:abc:pii')).toEqual(pii);
    expect(seal.open(encryption.seal(JSON.stringify(pii), 'partner-auth:abc:pii'), 'abc')).toEqual(pii);
  });

  it('account_creation usernames: text, bound to the row', () => {
    const seal = new AccountCreationSeal({ encryption, hashKey: 'sealed-values-hash-key-0123456789' });
    expect(encryption.open(seal.sealUsername('kh', 'md_riya_0098'), 'account-creation:kh:username')).toBe('md_riya_0098');
    expect(seal.openUsername('kh', encryption.seal('md_riya_0098', 'account-creation:kh:username'))).toBe('md_riya_0098');
  });

  it("the state claim's identifiers: JSON, bound to their use", () => {
    const seal = new IdentifierSeal(encryption);
    const identifier = { kind: 'email' as const, value: 'riya@example.com' };
    const sealed = seal.seal(identifier);
    expect(openJson(sealed.sealed, 'state-claim:identifier')).toEqual(identifier);
    expect(seal.open({ ...sealed, sealed: encryption.seal(JSON.stringify(identifier), 'state-claim:identifier') })).toEqual(identifier);
  });

  it('identifier handoffs: JSON, bound to flow and handoff', async () => {
    const handoffs = new HandoffStore({ em: orm.em, encryption, ttlSeconds: 60 });
    const flowId = randomUUID();
    const payload = { identifier: { kind: 'phone' as const, value: '+919876543210' }, identityProvider: 'state-demo', brokeredUserId: 'b-1' };
    const id = await handoffs.issue(flowId, payload);
    const [row] = await orm.em.getConnection().execute<{ ciphertext: string }[]>('select ciphertext from identifier_handoff where id = ?', [id]);
    expect(openJson(row!.ciphertext, `identifier-handoff:${flowId}:${id}`)).toEqual(payload);
    // One sealed the old way opens through the store.
    await orm.em
      .getConnection()
      .execute('update identifier_handoff set ciphertext = ? where id = ?', [
        encryption.seal(JSON.stringify(payload), `identifier-handoff:${flowId}:${id}`),
        id,
      ]);
    expect(await handoffs.redeem(flowId, id, { identityProvider: 'state-demo', brokeredUserId: 'b-1' })).toEqual(payload);
  });

  it('confirmation links: text, bound to the link and the account', async () => {
    const mails: EmailMessage[] = [];
    const links = new ConfirmationLinks({
      store: ephemeral,
      mailer: { send: async (m) => void mails.push(m) },
      settings: { publicUrl: 'http://bff.test', ttlSeconds: 3600, cooldownSeconds: 60, mailsPerHour: 5, requestsPerIpPerHour: 30 },
      encryption,
      hashKey: 'sealed-values-hash-key-0123456789',
    });
    await links.issue({ userId: 'user-1', email: 'riya@example.com' });
    const token = /token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)!.text)![1]!;
    const key = `user-management:confirm:${createHash('sha256').update(token).digest('hex')}`;
    const stored = JSON.parse((await redis.get(`${keys.prefix}${key}`))!) as { sealedEmail: string };
    expect(encryption.open(stored.sealedEmail, `confirmation-link:${key}:user-1:email`)).toBe('riya@example.com');
    await redis.set(
      `${keys.prefix}${key}`,
      JSON.stringify({ ...stored, sealedEmail: encryption.seal('riya@example.com', `confirmation-link:${key}:user-1:email`) }),
      'KEEPTTL',
    );
    const confirmed: string[] = [];
    await links.redeem(token, async (pending) => void confirmed.push(pending.email));
    expect(confirmed).toEqual(['riya@example.com']);
  });

  it("partner Idempotency-Keys: the first answer as JSON, bound to the partner's key", async () => {
    const idempotency = new IdempotencyKeys({ store: ephemeral, encryption, ttlSeconds: 60, hashKey: 'sealed-values-hash-key-0123456789' });
    const answer = { status: 201, body: { authToken: 'secret-token' } };
    await idempotency.run('bank-a', 'k1', { a: 1 }, async () => answer);
    const id = createHash('sha256').update('bank-a\u0000k1').digest('hex');
    const entry = JSON.parse((await redis.get(`${keys.prefix}partner:idempotency:${id}`))!) as { response: string };
    expect(openJson(entry.response, `partner-idempotency:${id}`)).toEqual(answer);
    await redis.set(
      `${keys.prefix}partner:idempotency:${id}`,
      JSON.stringify({ ...entry, response: encryption.seal(JSON.stringify(answer), `partner-idempotency:${id}`) }),
      'KEEPTTL',
    );
    expect(await idempotency.run('bank-a', 'k1', { a: 1 }, async () => ({ status: 500, body: {} }))).toEqual(answer);
  });

  it('the upstream outbox: payloads bound to their row, mirrors to their member, as JSON', async () => {
    const outbox = new OutboxStore({ em: orm.em, encryption });
    const userId = randomUUID();
    const change: OutboxChange = { kind: 'profile', changes: { firstName: 'Riya' } };
    const mirror = { firstName: 'Riya', lastName: 'Partner' } as unknown as MemberSnapshot;
    await outbox.withCursor(`t-${randomBytes(4).toString('hex')}`, 0, async (tx) => {
      await tx.append({ userId, upstreamUserId: 'up-1', change, sourceEventId: randomUUID() });
      await tx.setMirror(userId, 'up-1', mirror);
    });
    const [row] = await orm.em
      .getConnection()
      .execute<{ id: string; payload: string }[]>('select id, payload from upstream_outbox where user_id = ?', [userId]);
    expect(openJson(row!.payload, `upstream-outbox:${row!.id}:payload`)).toEqual(change);
    const [mirrored] = await orm.em.getConnection().execute<{ snapshot: string }[]>('select snapshot from upstream_outbox_mirror where user_id = ?', [userId]);
    expect(openJson(mirrored!.snapshot, `upstream-outbox-mirror:${userId}`)).toEqual(mirror);

    await orm.em
      .getConnection()
      .execute('update upstream_outbox set payload = ? where id = ?', [encryption.seal(JSON.stringify(change), `upstream-outbox:${row!.id}:payload`), row!.id]);
    expect((await outbox.get(row!.id))?.change).toEqual(change);
    await orm.em
      .getConnection()
      .execute('update upstream_outbox_mirror set snapshot = ? where user_id = ?', [
        encryption.seal(JSON.stringify(mirror), `upstream-outbox-mirror:${userId}`),
        userId,
      ]);
    expect(await outbox.withCursor(`t-${randomBytes(4).toString('hex')}`, 0, (tx) => tx.mirror(userId))).toEqual({ upstreamUserId: 'up-1', snapshot: mirror });
  });
});
