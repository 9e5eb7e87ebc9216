import { describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/logger.ts';
import type { DirectoryUser } from '../ports/identity-directory.ts';
import type { Membership, MembershipChange, UpstreamUser } from '../ports/upstream-core.ts';
import type { HeldCursor } from './role-feed-cursor.ts';
import { UpstreamRoleSync, type UpstreamRoleSyncDeps } from './role-sync.ts';

const settings = { intervalMs: 1000, batchSize: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
const down = () => new DomainError('UPSTREAM_UNAVAILABLE', 'down');

/** A core, a Keycloak and a cursor in memory; `failOn` makes the core's user read of that member fail. */
function world(opts: {
  feed: MembershipChange[];
  members: Record<string, { externalId: string | null; status?: UpstreamUser['status']; memberships: Membership[] }>;
}) {
  const accounts = new Map<string, DirectoryUser>();
  const writes: { id: string; values: string[] }[] = [];
  let position = 0;
  let caughtUp = false;
  let locked = false;
  const failOn = new Set<string>();
  const refuse = new Set<string>();
  let feedDown = false;
  const deps: UpstreamRoleSyncDeps = {
    upstream: {
      membershipChanges: async (after, limit) => {
        if (feedDown) throw down();
        const changes = opts.feed.filter((c) => c.seq > after).slice(0, limit);
        return { changes, next: changes.at(-1)?.seq ?? after };
      },
      getUser: async (id) => {
        if (failOn.has(id)) throw down();
        const m = opts.members[id];
        return m ? ({ id, externalId: m.externalId, status: m.status ?? 'active' } as UpstreamUser) : null;
      },
      listMemberships: async (id) => opts.members[id]?.memberships ?? [],
    },
    directory: {
      getUser: async (id) => accounts.get(id) ?? null,
      updateUser: async (id, changes) => {
        if (refuse.has(id)) throw new DomainError('VALIDATION_FAILED', 'refused');
        const values = changes.attributes?.upstreamRoles ?? [];
        writes.push({ id, values });
        const a = accounts.get(id)!;
        accounts.set(id, { ...a, attributes: { ...a.attributes, upstreamRoles: values } });
      },
    },
    cursor: {
      withCursor: async <T>(fn: (held: HeldCursor) => Promise<T>): Promise<T | null> => {
        if (locked) return null;
        // Like the transaction: what fn advanced is kept only when it returns.
        let next = position;
        let nextCaughtUp = caughtUp;
        const result = await fn({
          position,
          advance: async (p, c) => {
            next = Math.max(next, p);
            nextCaughtUp = c;
          },
        });
        position = next;
        caughtUp = nextCaughtUp;
        return result;
      },
    },
    logger: createLogger({ level: 'silent' }),
    settings,
  };
  const account = (id: string) => accounts.set(id, { id, username: id, emailVerified: true, enabled: true, attributes: {} });
  return {
    sync: new UpstreamRoleSync(deps),
    account,
    accounts,
    writes,
    position: () => position,
    caughtUp: () => caughtUp,
    failOn,
    refuse,
    setFeedDown: (v: boolean) => (feedDown = v),
    setLocked: (v: boolean) => (locked = v),
  };
}

const membership = (organisationId: string, roles: string[]): Membership => ({ userId: 'x', organisationId, rootOrgId: organisationId, roles });

describe('UpstreamRoleSync', () => {
  it("writes each named member's current roles onto the Keycloak user of its externalId, and advances the cursor", async () => {
    const w = world({
      feed: [
        { seq: 1, userId: 'u1', externalId: 'k1' },
        { seq: 2, userId: 'u1', externalId: 'k1' },
      ],
      members: { u1: { externalId: 'k1', memberships: [membership('org', ['PUBLIC', 'TEACHER'])] } },
    });
    w.account('k1');
    expect(await w.sync.runOnce()).toBe('idle');
    expect(w.writes).toEqual([{ id: 'k1', values: ['org:PUBLIC', 'org:TEACHER'] }]);
    expect(w.position()).toBe(2);
    expect(w.caughtUp()).toBe(true);
    expect(w.sync.applied).toMatchObject({ written: 1 });
  });

  it('writes nothing when the attribute already holds the roles, for unlinked members and for unknown accounts', async () => {
    const w = world({
      feed: [
        { seq: 1, userId: 'same', externalId: 'k1' },
        { seq: 2, userId: 'unlinked', externalId: null },
        { seq: 3, userId: 'gone', externalId: 'nobody' },
      ],
      members: {
        same: { externalId: 'k1', memberships: [membership('org', ['PUBLIC'])] },
        unlinked: { externalId: null, memberships: [membership('org', ['PUBLIC'])] },
        gone: { externalId: 'nobody', memberships: [membership('org', ['PUBLIC'])] },
      },
    });
    w.account('k1');
    w.accounts.get('k1')!.attributes.upstreamRoles = ['org:PUBLIC'];
    expect(await w.sync.runOnce()).toBe('busy'); // a full page: the next pass follows at once
    expect(w.writes).toEqual([]);
    expect(w.sync.applied).toMatchObject({ unchanged: 1, unlinked: 1, no_account: 1 });
    expect(w.position()).toBe(3);
    expect(w.caughtUp()).toBe(false);
  });

  it('an inactive member carries no roles: the attribute is emptied', async () => {
    const w = world({
      feed: [{ seq: 1, userId: 'u1', externalId: 'k1' }],
      members: { u1: { externalId: 'k1', status: 'inactive', memberships: [membership('org', ['PUBLIC'])] } },
    });
    w.account('k1');
    w.accounts.get('k1')!.attributes.upstreamRoles = ['org:PUBLIC'];
    await w.sync.runOnce();
    expect(w.writes).toEqual([{ id: 'k1', values: [] }]);
  });

  it('a dependency down: stops at that entry, keeps what was applied, resumes there later', async () => {
    const w = world({
      feed: [
        { seq: 1, userId: 'u1', externalId: 'k1' },
        { seq: 2, userId: 'u2', externalId: 'k2' },
      ],
      members: {
        u1: { externalId: 'k1', memberships: [membership('org', ['PUBLIC'])] },
        u2: { externalId: 'k2', memberships: [membership('org', ['ORG_ADMIN'])] },
      },
    });
    w.account('k1');
    w.account('k2');
    w.failOn.add('u2');
    expect(await w.sync.runOnce()).toBe('failed');
    expect(w.position()).toBe(1);
    expect(w.writes.map((x) => x.id)).toEqual(['k1']);
    w.failOn.clear();
    expect(await w.sync.runOnce()).toBe('idle');
    expect(w.position()).toBe(2);
    expect(w.writes.map((x) => x.id)).toEqual(['k1', 'k2']);

    // The feed itself unreadable: nothing moves.
    w.setFeedDown(true);
    expect(await w.sync.runOnce()).toBe('failed');
    expect(w.position()).toBe(2);
  });

  it('an entry refused for good is passed over; another process holding the cursor means this one skips', async () => {
    const w = world({
      feed: [
        { seq: 1, userId: 'u1', externalId: 'k1' },
        { seq: 2, userId: 'u2', externalId: 'k2' },
      ],
      members: {
        u1: { externalId: 'k1', memberships: [membership('org', ['PUBLIC'])] },
        u2: { externalId: 'k2', memberships: [membership('org', ['PUBLIC'])] },
      },
    });
    w.account('k1');
    w.account('k2');
    w.refuse.add('k1');
    w.setLocked(true);
    expect(await w.sync.runOnce()).toBe('locked');
    expect(w.position()).toBe(0);
    w.setLocked(false);
    expect(await w.sync.runOnce()).toBe('idle');
    expect(w.position()).toBe(2);
    expect(w.sync.applied).toMatchObject({ refused: 1, written: 1 });
    expect(w.writes.map((x) => x.id)).toEqual(['k2']);
  });
  it('waits at the entry of a new account that is disabled or not linked yet, and applies it once the flow is done', async () => {
    const w = world({
      feed: [{ seq: 1, userId: 'u1', externalId: 'k1' }],
      members: { u1: { externalId: 'k1', memberships: [membership('org', ['PUBLIC'])] } },
    });
    w.account('k1');
    const account = w.accounts.get('k1')!;
    w.accounts.set('k1', { ...account, enabled: false, createdAt: new Date() });
    expect(await w.sync.runOnce()).toBe('waiting');
    expect(w.position()).toBe(0);
    expect(w.writes).toEqual([]);
    // Linked and enabled by its flow: applied.
    w.accounts.set('k1', { ...account, enabled: true, createdAt: new Date(), attributes: { upstreamUserId: ['u1'] } });
    expect(await w.sync.runOnce()).toBe('idle');
    expect(w.writes).toEqual([{ id: 'k1', values: ['org:PUBLIC'] }]);
    // An old disabled account (an admin disabled it) is not being provisioned: applied at once.
    const old = world({
      feed: [{ seq: 1, userId: 'u1', externalId: 'k1' }],
      members: { u1: { externalId: 'k1', memberships: [membership('org', ['PUBLIC'])] } },
    });
    old.account('k1');
    old.accounts.set('k1', { ...old.accounts.get('k1')!, enabled: false, createdAt: new Date(Date.now() - 10 * 60_000) });
    expect(await old.sync.runOnce()).toBe('idle');
    expect(old.writes).toHaveLength(1);
  });
});
