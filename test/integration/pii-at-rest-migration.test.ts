import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountCreationSeal } from '../../bff/src/accounts/account-creation-seal.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Rows written before decision 0022 (personal data at rest), taken through its migration against
 * PostgreSQL: clear usernames are marked and then sealed by the application, expired clear flow
 * snapshots are gone, live ones are kept for their last steps, and old fingerprints still match.
 */
let db: TestDatabase;
let orm: Orm;
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
const seal = new AccountCreationSeal({ encryption, hashKey: 'migration-test-hash-key-0123456789' });
const BEFORE = 'Migration20261208120000_identifier_precedence';

beforeAll(async () => {
  db = await createTestDatabase('pii_migration');
  orm = await createOrm({ databaseUrl: db.url });
  await orm.migrator.up({ to: BEFORE });
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
});

const sql = <T>(query: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(query, params, 'all');

describe('Migration20261209100000_pii_at_rest', () => {
  it('marks clear usernames for sealing, drops expired clear snapshots, keeps live ones; the app then seals what is left', async () => {
    const request = JSON.stringify([
      ['email', 'ottoline@example.com'],
      ['firstName', 'Ottoline'],
    ]);
    const keyHash = randomBytes(32).toString('hex');
    const legacyFingerprint = createHash('sha256').update(request).digest('hex');
    await sql(
      `insert into account_creation (key_hash, fingerprint, status, username, started_at, updated_at) values (?, ?, 'completed', 'ottoline_vashtikar0042', now(), now())`,
      [keyHash, legacyFingerprint],
    );
    const clear = JSON.stringify({ status: 'active', value: 'x', context: { identity: { firstName: 'Ottoline' } } });
    const [expired, live] = [randomUUID(), randomUUID()];
    for (const [id, expiresAt] of [
      [expired, new Date(Date.now() - 60_000)],
      [live, new Date(Date.now() + 600_000)],
    ] as const) {
      await sql(
        `insert into flow (id, kind, state, snapshot, machine_version, expires_at, created_at, updated_at) values (?, 'state-claim', 'x', ?, 1, ?, now(), now())`,
        [id, clear, expiresAt],
      );
    }

    // This migration is the next one applied (later ones follow it; they do not touch these rows).
    expect((await migrateUp(orm)).applied[0]).toBe('Migration20261209100000_pii_at_rest');

    const [row] = await sql<{ username: string; fingerprint: string }>(`select username, fingerprint from account_creation where key_hash = ?`, [keyHash]);
    expect(row!.username).toBe('legacy:ottoline_vashtikar0042');
    expect(seal.openUsername(keyHash, row!.username)).toBe('ottoline_vashtikar0042');
    // The old plain fingerprint still recognises the same request, and only it.
    expect(seal.fingerprintMatches(row!.fingerprint, request)).toBe(true);
    expect(seal.fingerprintMatches(row!.fingerprint, request.replace('Ottoline', 'Other'))).toBe(false);
    expect(await sql(`select id from flow order by id`)).toEqual([{ id: live }]);

    expect(await seal.resealStale(orm.em)).toBe(1);
    const [sealed] = await sql<{ username: string }>(`select username from account_creation where key_hash = ?`, [keyHash]);
    expect(sealed!.username).toMatch(/^v1\.k1\./);
    expect(seal.openUsername(keyHash, sealed!.username)).toBe('ottoline_vashtikar0042');
    // Bound to its row: under another row's key hash it does not open.
    expect(() => seal.openUsername(randomBytes(32).toString('hex'), sealed!.username)).toThrow(/failed authentication/);
    expect(await seal.resealStale(orm.em)).toBe(0);
  });

  it('a key rotation: usernames sealed with the old key are re-sealed with the new one, so the old key can leave the ring', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ring = (active: string, keys: Record<string, Buffer>) =>
      new AccountCreationSeal({ encryption: new FieldEncryption({ keys: new Map(Object.entries(keys)), activeKeyId: active }), hashKey: 'h'.repeat(32) });
    const before = ring('old', { old: k1 });
    const keyHash = randomBytes(32).toString('hex');
    await sql(`insert into account_creation (key_hash, fingerprint, status, username, started_at, updated_at) values (?, 'f', 'completed', ?, now(), now())`, [
      keyHash,
      before.sealUsername(keyHash, 'rotated_name'),
    ]);
    const during = ring('new', { old: k1, new: k2 });
    expect(await during.resealStale(orm.em)).toBeGreaterThanOrEqual(1);
    const [row] = await sql<{ username: string }>(`select username from account_creation where key_hash = ?`, [keyHash]);
    expect(row!.username).toMatch(/^v1\.new\./);
    expect(ring('new', { new: k2 }).openUsername(keyHash, row!.username)).toBe('rotated_name');
  });

  it('makes the username column wide enough for a sealed 255-character username', async () => {
    const keyHash = randomBytes(32).toString('hex');
    await sql(
      `insert into account_creation (key_hash, fingerprint, status, username, started_at, updated_at) values (?, 'f', 'in_progress', ?, now(), now())`,
      [keyHash, seal.sealUsername(keyHash, 'u'.repeat(255))],
    );
    const [row] = await sql<{ username: string }>(`select username from account_creation where key_hash = ?`, [keyHash]);
    expect(seal.openUsername(keyHash, row!.username)).toBe('u'.repeat(255));
  });
});
