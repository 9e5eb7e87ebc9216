import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import type { OutboxChange } from '../../bff/src/upstream-sync/changes.ts';
import { OutboxStore, type OutboxRow } from '../../bff/src/upstream-sync/outbox-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The outbox tables in PostgreSQL (no Keycloak, no core): order per member, two deliverers side by
 * side (two BFF processes), sealed payloads, cursors.
 */
let db: TestDatabase;
let orm: Orm;
let store: OutboxStore;
const encryption = new FieldEncryption({ keys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });

beforeAll(async () => {
  db = await createTestDatabase('outbox_store');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
  store = new OutboxStore({ em: orm.em, encryption });
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
});

async function record(userId: string, changes: OutboxChange[]): Promise<void> {
  await store.withCursor(`t-${randomBytes(4).toString('hex')}`, 0, async (tx) => {
    for (const change of changes) await tx.append({ userId, upstreamUserId: `up-${userId}`, change, sourceEventId: randomUUID() });
  });
}

const names = (n: number): OutboxChange[] => Array.from({ length: n }, (_, i) => ({ kind: 'profile', changes: { firstName: `Name ${i}` } }));

describe('outbox store', () => {
  it('two deliverers side by side deliver every row once, each member in order', async () => {
    const users: string[] = [randomUUID(), randomUUID(), randomUUID()];
    for (const u of users) await record(u, names(4));
    const delivered: { by: string; row: OutboxRow }[] = [];
    // Process a holds the rows it claimed until b has delivered one: b must work around a's locks.
    let aStarted!: () => void;
    const aHasRows = new Promise<void>((r) => (aStarted = r));
    let releaseA!: () => void;
    const bDelivered = new Promise<void>((r) => (releaseA = r));
    const deliverer = async (by: 'a' | 'b') => {
      for (;;) {
        const n = await store.deliverDue(2, async (row) => {
          if (by === 'a') {
            aStarted();
            await bDelivered;
          }
          delivered.push({ by, row });
          if (by === 'b') releaseA();
          return { outcome: 'delivered' };
        });
        if (n === 0 && (await store.counts()).pending === 0) return;
      }
    };
    const a = deliverer('a');
    await aHasRows;
    await Promise.all([a, deliverer('b')]);
    const mine = delivered.filter((d) => users.includes(d.row.userId));
    expect(mine).toHaveLength(12);
    expect(new Set(mine.map((d) => d.row.id)).size).toBe(12);
    for (const u of users) {
      const order = mine.filter((d) => d.row.userId === u).map((d) => d.row.change);
      expect(order).toEqual(names(4));
    }
    expect(new Set(mine.map((d) => d.by)).size).toBe(2);
    const rows = await store.list({ userId: users[0]!, limit: 10 });
    expect(rows.every((r) => r.status === 'delivered' && r.change === null && r.fields.join() === 'firstName' && r.attempts === 1)).toBe(true);
  });

  it("a retry waits its backoff and holds the member's later rows; a failed row holds them until an admin retry", async () => {
    const user = randomUUID();
    await record(user, [...names(2), { kind: 'status', active: false }]);
    const seen: string[] = [];
    const attempt = (result: 'retry' | 'failed' | 'delivered') => (row: OutboxRow) => {
      seen.push(row.id);
      return Promise.resolve(
        result === 'retry'
          ? { outcome: 'retry' as const, error: 'UPSTREAM_UNAVAILABLE', at: new Date(Date.now() + 60_000) }
          : result === 'failed'
            ? { outcome: 'failed' as const, error: 'CONFLICT:IDENTIFIER_TAKEN' }
            : { outcome: 'delivered' as const },
      );
    };
    const only = (fn: (row: OutboxRow) => Promise<never> | Promise<any>) => (row: OutboxRow) =>
      row.userId === user ? fn(row) : Promise.resolve({ outcome: 'delivered' as const });
    await store.deliverDue(50, only(attempt('retry')));
    const [first, second, third] = await store.list({ userId: user, limit: 10 });
    expect(first).toMatchObject({ status: 'pending', attempts: 1, lastError: 'UPSTREAM_UNAVAILABLE' });
    expect(first!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
    // Not due, and the later rows wait behind it.
    seen.length = 0;
    await store.deliverDue(50, only(attempt('delivered')));
    expect(seen).toEqual([]);

    // A second back: the store compares with the process's clock in milliseconds, PostgreSQL's now() has microseconds.
    await orm.em.fork().execute("update upstream_outbox set next_attempt_at = now() - interval '1 second' where id = ?", [first!.id], 'run');
    await store.deliverDue(50, only(attempt('failed')));
    expect(await store.get(first!.id)).toMatchObject({ status: 'failed', attempts: 2, lastError: 'CONFLICT:IDENTIFIER_TAKEN' });
    seen.length = 0;
    await store.deliverDue(50, only(attempt('delivered')));
    expect(seen).toEqual([]);
    expect((await store.list({ userId: user, status: 'pending', limit: 10 })).map((r) => r.id)).toEqual([second!.id, third!.id]);

    expect(await store.retry(second!.id)).toBeNull(); // only failed rows
    expect(await store.retry(first!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    for (let i = 0; i < 3; i++) await store.deliverDue(50, only(attempt('delivered')));
    expect(seen).toEqual([first!.id, second!.id, third!.id]);
    expect((await store.list({ userId: user, limit: 10 })).map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('seals payloads bound to their row, and records an event once', async () => {
    const user = randomUUID();
    const eventId = randomUUID();
    await store.withCursor('test-once', 0, async (tx) => {
      const change: OutboxChange = { kind: 'profile', changes: { email: 'secret@example.org' } };
      expect(await tx.append({ userId: user, upstreamUserId: null, change, sourceEventId: eventId })).toBe(true);
      expect(await tx.append({ userId: user, upstreamUserId: null, change, sourceEventId: eventId })).toBe(false);
      await tx.append({
        userId: randomUUID(),
        upstreamUserId: null,
        change: { kind: 'profile', changes: { email: 'other@example.org' } },
        sourceEventId: randomUUID(),
      });
    });
    const [raw] = await orm.em.fork().execute<{ id: string; payload: string }[]>('select id, payload from upstream_outbox where user_id = ?', [user], 'all');
    expect(raw!.payload).toMatch(/^v1\.k1\./);
    expect(raw!.payload).not.toContain('secret');
    expect((await store.get(raw!.id))?.change).toEqual({ kind: 'profile', changes: { email: 'secret@example.org' } });
    // Another row's sealed payload copied onto this row does not open here.
    await orm.em
      .fork()
      .execute(
        'update upstream_outbox set payload = (select payload from upstream_outbox where id <> ? and payload is not null order by seq desc limit 1) where id = ?',
        [raw!.id, raw!.id],
        'run',
      );
    await expect(store.get(raw!.id)).rejects.toThrow();
  });

  it('one recorder at a time: a second pass while the first holds the lock is skipped', async () => {
    let inner: unknown = 'not run';
    const outer = await store.withCursor('test-lock', 0, async () => {
      inner = await store.withCursor('test-lock-2', 0, async () => 'ran');
      return 'outer';
    });
    expect(outer).toBe('outer');
    expect(inner).toBeNull();
  });
});
