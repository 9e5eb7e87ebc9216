import { describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import type { DirectoryUser } from '../../ports/identity-directory.ts';
import type { UpstreamUser } from '../../ports/upstream-core.ts';
import { decideBrokeredLogin, type BrokeredLoginDeps, type BrokeredLoginRequest } from './use-cases.ts';

const EMAIL = 'priya.sharma@gmail.example';

const account = (over: Partial<DirectoryUser> = {}): DirectoryUser => ({
  id: 'kc-1',
  username: 'priya',
  email: EMAIL,
  emailVerified: true,
  enabled: true,
  attributes: {},
  ...over,
});

const profile = (over: Partial<UpstreamUser> = {}): UpstreamUser => ({
  id: 'up-1',
  externalId: 'kc-1',
  username: 'priya',
  firstName: 'Priya',
  lastName: null,
  email: EMAIL,
  phone: null,
  status: 'active',
  hasPassword: false,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

/** In-memory directory and upstream core; records what was provisioned. */
function world(opts: { accounts?: DirectoryUser[]; profiles?: UpstreamUser[]; orgs?: Record<string, string[]>; provision?: () => Promise<void> } = {}) {
  const accounts = opts.accounts ?? [];
  const profiles = opts.profiles ?? [];
  const provisioned: { userId: string; signUpType: string; tenant?: string }[] = [];
  const yielded: string[] = [];
  const deps: BrokeredLoginDeps = {
    defaultTenant: 'custodian',
    directory: {
      getUser: async (id) => accounts.find((a) => a.id === id) ?? null,
      findUsersByEmail: async (email) => accounts.filter((a) => a.email === email),
      organizationsOf: async (id) => (opts.orgs?.[id] ?? []).map((alias) => ({ id: alias, alias, name: alias })),
    },
    upstream: {
      findUser: async (lookup) => profiles.find((p) => 'email' in lookup && p.email === lookup.email && p.status !== 'deleted') ?? null,
      getUser: async (id) => profiles.find((p) => p.id === id) ?? null,
      getUserByExternalId: async (id) => profiles.find((p) => p.externalId === id) ?? null,
    },
    accounts: {
      ensureProvisioned: async (userId, o) => {
        await opts.provision?.();
        provisioned.push({ userId, ...o });
        return { upstreamUserId: 'up-new', created: true };
      },
      // As AccountService does (decision 0021): an account holding the e-mail unproven loses it.
      yieldToProven: async (identifier) => {
        yielded.push(identifier.value);
        for (const a of accounts) if (a.email === identifier.value && !a.emailVerified) delete a.email;
      },
    },
  };
  return { deps, provisioned, yielded };
}

const before = (email: string | null = EMAIL): BrokeredLoginRequest => ({
  stage: 'before-account',
  identityProvider: 'google-demo',
  brokeredUserId: 'google-sub-1',
  brokeredEmail: email,
});
const after = (userId = 'kc-1'): BrokeredLoginRequest => ({
  stage: 'after-login',
  identityProvider: 'google',
  brokeredUserId: 'google-sub-1',
  brokeredEmail: EMAIL,
  userId,
});

describe('before Keycloak creates or links an account', () => {
  it('lets a new person through (Keycloak creates the account)', async () => {
    expect(await decideBrokeredLogin(world().deps, before())).toEqual({ outcome: 'continue' });
  });

  it('lets an existing active account through: Keycloak asks for its password before linking', async () => {
    const { deps } = world({ accounts: [account()], profiles: [profile()] });
    expect(await decideBrokeredLogin(deps, before())).toEqual({ outcome: 'continue' });
  });

  it('matches the e-mail case-insensitively', async () => {
    const { deps } = world({ accounts: [account({ enabled: false })] });
    expect(await decideBrokeredLogin(deps, before('  Priya.Sharma@Gmail.Example '))).toEqual({ outcome: 'refuse', reason: 'account-disabled' });
  });

  it('refuses when an account with this e-mail is disabled', async () => {
    const { deps } = world({ accounts: [account({ enabled: false })], profiles: [profile()] });
    expect(await decideBrokeredLogin(deps, before())).toEqual({ outcome: 'refuse', reason: 'account-disabled' });
  });

  it('refuses a closed account: the e-mail belongs to an inactive upstream profile (deleted Keycloak user)', async () => {
    const { deps } = world({ profiles: [profile({ status: 'inactive' })] });
    expect(await decideBrokeredLogin(deps, before())).toEqual({ outcome: 'refuse', reason: 'account-closed' });
  });

  it('asks an upstream-only member, or a profile of another account, to sign in with the password first', async () => {
    expect(await decideBrokeredLogin(world({ profiles: [profile({ externalId: null })] }).deps, before())).toEqual({
      outcome: 'refuse',
      reason: 'sign-in-with-password',
    });
    expect(await decideBrokeredLogin(world({ profiles: [profile({ externalId: 'kc-other' })] }).deps, before())).toEqual({
      outcome: 'refuse',
      reason: 'sign-in-with-password',
    });
  });

  it('first takes the e-mail from an account that holds it unproven (the provider proved it), then lets the person through', async () => {
    const { deps, yielded } = world({ accounts: [account({ emailVerified: false })] });
    expect(await decideBrokeredLogin(deps, before('  Priya.Sharma@Gmail.Example '))).toEqual({ outcome: 'continue' });
    expect(yielded).toEqual([EMAIL]);
  });

  it('lets a login without an e-mail through (nothing to match)', async () => {
    expect(await decideBrokeredLogin(world({ profiles: [profile({ status: 'inactive' })] }).deps, before(null))).toEqual({ outcome: 'continue' });
  });
});

describe('after the login', () => {
  it('provisions a new account as a Google sign-up in the custodian tenant', async () => {
    const { deps, provisioned } = world({ accounts: [account()] });
    expect(await decideBrokeredLogin(deps, after())).toEqual({ outcome: 'continue' });
    expect(provisioned).toEqual([{ userId: 'kc-1', signUpType: 'google', tenant: 'custodian' }]);
  });

  it('keeps the tenant of an account that links Google', async () => {
    const { deps, provisioned } = world({ accounts: [account()], profiles: [profile()], orgs: { 'kc-1': ['state-demo'] } });
    await decideBrokeredLogin(deps, after());
    expect(provisioned).toEqual([{ userId: 'kc-1', signUpType: 'google', tenant: 'state-demo' }]);
  });

  it('refuses, and provisions nothing, when the upstream profile of the account is closed', async () => {
    const linked = world({ accounts: [account({ attributes: { upstreamUserId: ['up-1'] } })], profiles: [profile({ externalId: null, status: 'inactive' })] });
    expect(await decideBrokeredLogin(linked.deps, after())).toEqual({ outcome: 'refuse', reason: 'account-closed' });
    const byExternalId = world({ accounts: [account()], profiles: [profile({ status: 'deleted' })] });
    expect(await decideBrokeredLogin(byExternalId.deps, after())).toEqual({ outcome: 'refuse', reason: 'account-closed' });
    expect([...linked.provisioned, ...byExternalId.provisioned]).toEqual([]);
  });

  it('passes a dependency failure on (the authenticator offers a retry)', async () => {
    const { deps } = world({
      accounts: [account()],
      provision: () => Promise.reject(new DomainError('UPSTREAM_UNAVAILABLE', 'down')),
    });
    await expect(decideBrokeredLogin(deps, after())).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('answers NOT_FOUND for an unknown account', async () => {
    await expect(decideBrokeredLogin(world().deps, after('kc-missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

it('serves only the Google identity providers', async () => {
  const err = await decideBrokeredLogin(world().deps, { ...before(), identityProvider: 'state-demo' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  expect(err).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'identityProvider', reason: 'not_supported' }] });
});
