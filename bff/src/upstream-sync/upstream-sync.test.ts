import { describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/logger.ts';
import type { OutboxChange } from './changes.ts';
import type { AttemptResult, OutboxRow, OutboxStore } from './outbox-store.ts';
import { UpstreamSync, type UpstreamSyncDeps } from './upstream-sync.ts';

const settings = { intervalMs: 1000, maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, lookBackMs: 5000, batchSize: 10 };

function row(change: OutboxChange, overrides: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: 'row-1',
    seq: 1,
    userId: 'kc-1',
    upstreamUserId: 'up-1',
    change,
    kind: change.kind,
    fields: [],
    sourceEventId: 'ev-1',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: new Date(0),
    lastError: null,
    createdAt: new Date(0),
    deliveredAt: null,
    ...overrides,
  };
}

/** Delivers one row through a fake store and returns what the sync decided, and the core calls made. */
async function deliver(r: OutboxRow, upstream: Partial<UpstreamSyncDeps['upstream']>): Promise<{ result: AttemptResult; calls: string[] }> {
  const calls: string[] = [];
  let result: AttemptResult | undefined;
  const record =
    (name: string) =>
    async (...args: unknown[]) => {
      calls.push(`${name} ${JSON.stringify(args)}`);
      const impl = upstream[name as keyof typeof upstream] as ((...a: unknown[]) => Promise<unknown>) | undefined;
      return impl ? impl(...args) : { id: 'up-1' };
    };
  const store = {
    deliverDue: async (_max: number, fn: (row: OutboxRow) => Promise<AttemptResult>) => {
      result = await fn(r);
      return 1;
    },
  } as unknown as OutboxStore;
  const sync = new UpstreamSync({
    feed: { feeds: [], read: async () => ({ events: [], lastTime: null, full: false }) },
    directory: { getUser: async () => null },
    forgetDeleted: async () => undefined,
    upstream: {
      updateProfile: record('updateProfile'),
      activateUser: record('activateUser'),
      deactivateUser: record('deactivateUser'),
      getUserByExternalId: record('getUserByExternalId'),
    } as UpstreamSyncDeps['upstream'],
    store,
    logger: createLogger({ level: 'silent' }),
    settings,
    now: () => 1_000_000,
    random: () => 0,
  });
  await sync.deliver();
  return { result: result!, calls };
}

describe('UpstreamSync delivery', () => {
  it('sends each kind of change with the row id as the idempotency key', async () => {
    const profile = await deliver(row({ kind: 'profile', changes: { firstName: 'A', phone: null } }), {});
    expect(profile).toEqual({ result: { outcome: 'delivered' }, calls: ['updateProfile ["up-1",{"firstName":"A","phone":null},{"idempotencyKey":"row-1"}]'] });
    expect((await deliver(row({ kind: 'status', active: true }), {})).calls).toEqual(['activateUser ["up-1",{"idempotencyKey":"row-1"}]']);
    expect((await deliver(row({ kind: 'status', active: false }), {})).calls).toEqual(['deactivateUser ["up-1",{"idempotencyKey":"row-1"}]']);
    expect((await deliver(row({ kind: 'delete' }), {})).calls).toEqual(['deactivateUser ["up-1",{"idempotencyKey":"row-1"}]']);
  });

  it('a delete without a known link looks the member up by externalId; none (prospective): done, nothing sent', async () => {
    const none = await deliver(row({ kind: 'delete' }, { upstreamUserId: null }), { getUserByExternalId: async () => null });
    expect(none).toEqual({ result: { outcome: 'delivered' }, calls: ['getUserByExternalId ["kc-1"]'] });
  });

  it('the core down: retry after the backoff; the last attempt fails the row', async () => {
    const down = () => Promise.reject(new DomainError('UPSTREAM_UNAVAILABLE', 'down'));
    const first = await deliver(row({ kind: 'status', active: false }), { deactivateUser: down });
    expect(first.result).toEqual({ outcome: 'retry', error: 'UPSTREAM_UNAVAILABLE', at: new Date(1_000_000 + 500) });
    const last = await deliver(row({ kind: 'status', active: false }, { attempts: 2 }), { deactivateUser: down });
    expect(last.result).toEqual({ outcome: 'failed', error: 'UPSTREAM_UNAVAILABLE' });
  });

  it('a refusal fails at once with its codes; a member the core deleted meanwhile counts as done', async () => {
    const taken = () => Promise.reject(new DomainError('CONFLICT', 'taken', { details: { upstreamCode: 'IDENTIFIER_TAKEN' } }));
    expect((await deliver(row({ kind: 'profile', changes: { email: 'x@example.org' } }), { updateProfile: taken })).result).toEqual({
      outcome: 'failed',
      error: 'CONFLICT:IDENTIFIER_TAKEN',
    });
    const deleted = () => Promise.reject(new DomainError('CONFLICT', 'deleted', { details: { upstreamCode: 'USER_DELETED' } }));
    expect((await deliver(row({ kind: 'profile', changes: { firstName: 'B' } }), { updateProfile: deleted })).result).toEqual({ outcome: 'delivered' });
  });
});
