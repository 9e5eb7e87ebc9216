import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountCreationSeal } from '../../bff/src/accounts/account-creation-seal.ts';
import { retentionSweep } from '../../bff/src/composition-root.ts';
import { HandoffStore } from '../../bff/src/flows/state-claim/handoffs.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { FlowRuntime, PostgresFlowStore } from '../../bff/src/kernel/flow/index.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { OutboxStore } from '../../bff/src/upstream-sync/outbox-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The retention sweep (decision 0015) against PostgreSQL: what is past keeping goes, everything still
 * in use or still to do stays, and two sweeps at once do no harm.
 */
let db: TestDatabase;
let orm: Orm;
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
const DAY = 24 * 3600_000;
const now = new Date();
const at = (msFromNow: number) => new Date(now.getTime() + msFromNow);
const person = { identityProvider: 'state-demo', brokeredUserId: 'state-user-1' };
const creationSeal = new AccountCreationSeal({ encryption, hashKey: 'retention-test-hash-key-0123456789' });
const resealUsernames = () => creationSeal.resealStale(orm.em);

beforeAll(async () => {
  db = await createTestDatabase('retention');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
});

const sql = <T>(query: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(query, params, 'all');

async function flow(expiresAt: Date): Promise<string> {
  const id = randomUUID();
  await sql(
    `insert into flow (id, kind, state, snapshot, machine_version, expires_at, created_at, updated_at) values (?, 'state-claim', 'x', '{}', 1, ?, ?, ?)`,
    [id, expiresAt, now, now],
  );
  return id;
}

/** A handoff of `flowId` that expired (or expires) at `expiresAt`. */
async function handoff(flowId: string, expiresAt: Date): Promise<string> {
  const store = new HandoffStore({ em: orm.em, encryption, ttlSeconds: 60, now: () => new Date(expiresAt.getTime() - 60_000) });
  return store.issue(flowId, { identifier: { kind: 'email', value: 'asha@example.com' }, ...person });
}

async function outboxRow(status: 'pending' | 'delivered' | 'failed' | 'skipped', deliveredAt: Date | null, updatedAt = now): Promise<string> {
  const id = randomUUID();
  await sql(
    `insert into upstream_outbox (id, user_id, upstream_user_id, kind, payload, fields, source_event_id, status, attempts, next_attempt_at, created_at, updated_at, delivered_at)
     values (?, ?, 'up-1', 'profile', null, 'firstName', ?, ?, 1, ?, ?, ?, ?)`,
    [id, randomUUID(), randomUUID(), status, now, at(-90 * DAY), updatedAt, deliveredAt],
  );
  return id;
}

const exists = async (table: string, id: string) => (await sql<{ n: number }>(`select count(*)::int as n from ${table} where id = ?`, [id]))[0]!.n === 1;

describe('retention sweep', () => {
  it('deletes what is past keeping and keeps what is in use or still to do; two sweeps at once do no harm', async () => {
    const liveFlow = await flow(at(10 * 60_000));
    const justExpiredFlow = await flow(at(-60_000));
    const oldFlow = await flow(at(-2 * DAY));
    const handoffs = {
      // Expired long ago, but its flow still lives: `completed` may still be asked about it.
      ofLiveFlow: await handoff(liveFlow, at(-2 * DAY)),
      ofOldFlow: await handoff(oldFlow, at(-2 * DAY)),
      ofNoFlow: await handoff(randomUUID(), at(-2 * DAY)),
      recentlyExpired: await handoff(justExpiredFlow, at(-60_000)),
      valid: await handoff(liveFlow, at(5 * 60_000)),
    };
    const rows = {
      oldDelivered: await outboxRow('delivered', at(-31 * DAY)),
      recentDelivered: await outboxRow('delivered', at(-29 * DAY)),
      oldPending: await outboxRow('pending', null),
      oldFailed: await outboxRow('failed', null, at(-90 * DAY)),
      oldSkipped: await outboxRow('skipped', null, at(-31 * DAY)),
      recentSkipped: await outboxRow('skipped', null, at(-DAY)),
    };

    const sweep = () =>
      retentionSweep({ retentionSweepIntervalMs: 60_000, upstreamOutboxRetentionDays: 30 }, pino({ level: 'silent' }), {
        flowRuntime: new FlowRuntime({ store: new PostgresFlowStore(orm.em), encryption }),
        handoffs: new HandoffStore({ em: orm.em, encryption, ttlSeconds: 60 }),
        outbox: new OutboxStore({ em: orm.em, encryption }),
        resealUsernames,
      }).runOnce();
    const [a, b] = await Promise.all([sweep(), sweep()]);
    // Nothing failed, and each row was deleted by exactly one of the two.
    expect(Object.values(a).every((n) => n >= 0) && Object.values(b).every((n) => n >= 0)).toBe(true);
    expect(a.identifier_handoff! + b.identifier_handoff!).toBe(2);
    expect(a.flow! + b.flow!).toBe(1);
    expect(a.upstream_outbox! + b.upstream_outbox!).toBe(2);

    expect([await exists('flow', liveFlow), await exists('flow', justExpiredFlow), await exists('flow', oldFlow)]).toEqual([true, true, false]);
    expect({
      ofLiveFlow: await exists('identifier_handoff', handoffs.ofLiveFlow),
      ofOldFlow: await exists('identifier_handoff', handoffs.ofOldFlow),
      ofNoFlow: await exists('identifier_handoff', handoffs.ofNoFlow),
      recentlyExpired: await exists('identifier_handoff', handoffs.recentlyExpired),
      valid: await exists('identifier_handoff', handoffs.valid),
    }).toEqual({ ofLiveFlow: true, ofOldFlow: false, ofNoFlow: false, recentlyExpired: true, valid: true });
    expect({
      oldDelivered: await exists('upstream_outbox', rows.oldDelivered),
      recentDelivered: await exists('upstream_outbox', rows.recentDelivered),
      oldPending: await exists('upstream_outbox', rows.oldPending),
      oldFailed: await exists('upstream_outbox', rows.oldFailed),
      oldSkipped: await exists('upstream_outbox', rows.oldSkipped),
      recentSkipped: await exists('upstream_outbox', rows.recentSkipped),
    }).toEqual({ oldDelivered: false, recentDelivered: true, oldPending: true, oldFailed: true, oldSkipped: false, recentSkipped: true });

    // A second pass finds nothing more.
    expect(await sweep()).toEqual({ identifier_handoff: 0, flow: 0, upstream_outbox: 0, account_creation_reseal: 0 });
  });

  it('seals the account_creation usernames an older version left in clear (decision 0022), once, also with two sweeps at once', async () => {
    const keyHashes = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    for (const [i, keyHash] of keyHashes.entries()) {
      await sql(`insert into account_creation (key_hash, fingerprint, status, username, started_at, updated_at) values (?, 'f', 'completed', ?, ?, ?)`, [
        keyHash,
        `legacy:ottoline_vashtikar${i}`,
        now,
        now,
      ]);
    }
    const sweep = () =>
      retentionSweep({ retentionSweepIntervalMs: 60_000, upstreamOutboxRetentionDays: 30 }, pino({ level: 'silent' }), {
        flowRuntime: new FlowRuntime({ store: new PostgresFlowStore(orm.em), encryption }),
        handoffs: new HandoffStore({ em: orm.em, encryption, ttlSeconds: 60 }),
        outbox: new OutboxStore({ em: orm.em, encryption }),
        resealUsernames,
      }).runOnce();
    const [a, b] = await Promise.all([sweep(), sweep()]);
    expect(a.account_creation_reseal! + b.account_creation_reseal!).toBe(2);
    const rows = await sql<{ key_hash: string; username: string }>(`select key_hash, username from account_creation where key_hash in (?, ?)`, keyHashes);
    expect(rows.map((r) => r.username).join()).not.toContain('ottoline');
    expect(rows.map((r) => creationSeal.openUsername(r.key_hash, r.username)).sort()).toEqual(['ottoline_vashtikar0', 'ottoline_vashtikar1']);
    expect((await sweep()).account_creation_reseal).toBe(0);
  });

  it('a failing task is reported and the others still run', async () => {
    const old = await flow(at(-3 * DAY));
    const broken = { pruneDelivered: async () => Promise.reject(new Error('connection lost')) } as unknown as OutboxStore;
    const result = await retentionSweep({ retentionSweepIntervalMs: 60_000, upstreamOutboxRetentionDays: 30 }, pino({ level: 'silent' }), {
      flowRuntime: new FlowRuntime({ store: new PostgresFlowStore(orm.em), encryption }),
      handoffs: new HandoffStore({ em: orm.em, encryption, ttlSeconds: 60 }),
      outbox: broken,
      resealUsernames,
    }).runOnce();
    expect(result).toEqual({ identifier_handoff: 0, flow: 1, upstream_outbox: -1, account_creation_reseal: 0 });
    expect(await exists('flow', old)).toBe(false);
  });
});
