import { describe, expect, it } from 'vitest';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore, UpstreamUser } from '../../ports/upstream-core.ts';
import { findHolder } from './actors.ts';

/**
 * Who holds an identifier (issue 15 §4; the table in README.md): the look-up's rules over small
 * fakes of Keycloak and the upstream core. The pages and the migrations of each case run against the
 * real stack in test/e2e/state-claim*.test.ts.
 */
const EMAIL = { kind: 'email' as const, value: 'asha@example.test' };
const PHONE = { kind: 'phone' as const, value: '+919812300001' };

interface Account extends DirectoryUser {
  orgs: string[];
  credentials?: string[];
}
const account = (id: string, over: Partial<Account> = {}): Account => ({
  id,
  username: id,
  email: EMAIL.value,
  emailVerified: true,
  enabled: true,
  attributes: {},
  orgs: ['custodian'],
  ...over,
});
const profile = (over: Partial<UpstreamUser> = {}): UpstreamUser => ({
  id: 'member-1',
  externalId: null,
  username: 'asha',
  firstName: 'Asha',
  lastName: null,
  email: EMAIL.value,
  phone: null,
  status: 'active',
  hasPassword: true,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

function deps(accounts: Account[], member: UpstreamUser | null = null, deleted: string[] = []) {
  const directory: Pick<IdentityDirectory, 'findUsersByEmail' | 'findUsersByAttribute' | 'getUser' | 'organizationsOf' | 'credentialTypes'> = {
    findUsersByEmail: async (email) => accounts.filter((a) => a.email === email),
    findUsersByAttribute: async (name, value) => accounts.filter((a) => a.attributes[name]?.[0] === value),
    getUser: async (id) => accounts.find((a) => a.id === id) ?? null,
    organizationsOf: async (id) => (accounts.find((a) => a.id === id)?.orgs ?? []).map((alias) => ({ id: alias, alias, name: alias })),
    credentialTypes: async (id) => accounts.find((a) => a.id === id)?.credentials ?? ['password'],
  };
  const upstream: Pick<UpstreamCore, 'findUser'> = {
    findUser: async (lookup) =>
      member && (('email' in lookup && member.email === lookup.email) || ('phone' in lookup && member.phone === lookup.phone)) ? member : null,
  };
  return {
    directory: directory as IdentityDirectory,
    upstream: upstream as UpstreamCore,
    deletedAccounts: { wasDeleted: async (id: string) => deleted.includes(id) },
  };
}

describe('findHolder', () => {
  it('nobody: null (a normal new state account)', async () => {
    expect(await findHolder(deps([]), EMAIL)).toBeNull();
  });

  it('an enabled custodian account: the claim, with its authenticator app noted, and whether it holds the identifier proven (a new account closes it) or not', async () => {
    expect(await findHolder(deps([account('c-1', { credentials: ['password', 'otp'] })]), EMAIL)).toEqual({
      kind: 'account',
      userId: 'c-1',
      secondFactor: true,
      proven: true,
    });
    expect(await findHolder(deps([account('c-1', { emailVerified: false })]), EMAIL)).toMatchObject({ kind: 'account', userId: 'c-1', proven: false });
  });

  it('an enabled custodian account comes first, also when a closed account or a member holds it too', async () => {
    const found = await findHolder(deps([account('d-1', { enabled: false }), account('c-1')], profile()), EMAIL);
    expect(found).toMatchObject({ kind: 'account', userId: 'c-1' });
  });

  it('an enabled account of another tenant holding it proven: elsewhere; holding it unproven: nobody to wait for (it loses it, decision 0019)', async () => {
    expect(await findHolder(deps([account('s-1', { orgs: ['state-other'] })]), EMAIL)).toEqual({ kind: 'elsewhere' });
    expect(await findHolder(deps([account('s-1', { orgs: [] })]), EMAIL)).toEqual({ kind: 'elsewhere' });
    expect(await findHolder(deps([account('s-1', { orgs: ['state-other'], emailVerified: false })]), EMAIL)).toBeNull();
  });

  it('an active upstream-only member: the claim by its upstream password; one whose link names an account gone without a recorded deletion too', async () => {
    expect(await findHolder(deps([], profile()), EMAIL)).toEqual({ kind: 'member', memberId: 'member-1' });
    expect(await findHolder(deps([], profile({ externalId: 'gone-1' })), EMAIL)).toEqual({ kind: 'member', memberId: 'member-1' });
  });

  it('only closed holders: a disabled account, an inactive member, a member linked to a deleted or disabled account', async () => {
    expect(await findHolder(deps([account('d-1', { enabled: false })]), EMAIL)).toEqual({ kind: 'closed' });
    expect(await findHolder(deps([], profile({ status: 'inactive' })), EMAIL)).toEqual({ kind: 'closed' });
    expect(await findHolder(deps([], profile({ externalId: 'gone-1' }), ['gone-1']), EMAIL)).toEqual({ kind: 'closed' });
    expect(await findHolder(deps([account('d-1', { enabled: false, email: 'other@example.test' })], profile({ externalId: 'd-1' })), EMAIL)).toEqual({
      kind: 'closed',
    });
  });

  it("an active member that is a disabled account's own profile counts as closed, not claimable", async () => {
    const disabled = account('d-1', { enabled: false, attributes: { upstreamUserId: ['member-1'] } });
    expect(await findHolder(deps([disabled], profile({ externalId: 'd-1' })), EMAIL)).toEqual({ kind: 'closed' });
  });

  it("a profile behind its enabled account (drift): nobody to wait for (the new account's migration clears it there)", async () => {
    const other = account('e-1', { email: 'new@example.test', orgs: ['state-other'] });
    expect(await findHolder(deps([other], profile({ externalId: 'e-1' })), EMAIL)).toBeNull();
  });

  it('phones match exactly (E.164), verified by the phoneVerified attribute', async () => {
    const holder = account('s-1', { email: undefined, orgs: ['state-other'], attributes: { phone: [PHONE.value], phoneVerified: ['true'] } });
    expect(await findHolder(deps([holder]), PHONE)).toEqual({ kind: 'elsewhere' });
    const unproven = account('s-1', { email: undefined, orgs: ['state-other'], attributes: { phone: [PHONE.value], phoneVerified: ['false'] } });
    expect(await findHolder(deps([unproven]), PHONE)).toBeNull();
  });
});
