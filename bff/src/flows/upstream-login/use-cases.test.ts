import { beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/logger.ts';
import type { DirectoryUser, NewDirectoryUser } from '../../ports/identity-directory.ts';
import type { UpstreamUser } from '../../ports/upstream-core.ts';
import { prepareReset, readLogin, signIn, type UpstreamLoginDeps } from './use-cases.ts';

const PASSWORD = 'Member#2026';

/** In-memory Keycloak and upstream core, enough to see what is written and what is not. */
function world() {
  const users = new Map<string, DirectoryUser & { password?: string; orgs: string[] }>();
  const members = new Map<string, UpstreamUser & { password: string | null }>();
  let nextId = 1;
  let upstreamDown = false;
  let verifications = 0;
  /** Platform accounts Keycloak recorded as deleted. */
  const deleted = new Set<string>();
  const counters = new Map<string, number>();
  const member = (over: Partial<UpstreamUser> & { password?: string | null } = {}) => {
    const m = {
      id: `up-${members.size + 1}`,
      externalId: null,
      username: 'asha.verma',
      firstName: 'Asha',
      lastName: 'Verma',
      email: 'asha.verma@example.com',
      phone: '+919876543210',
      status: 'active' as const,
      hasPassword: true,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      password: PASSWORD,
      ...over,
    };
    members.set(m.id, m);
    return m;
  };
  const byLogin = (login: string) =>
    [...members.values()].find((m) => m.status !== 'deleted' && (m.username === login || m.email === login || m.phone === login));
  const deps: UpstreamLoginDeps = {
    defaultPhoneCountry: 'IN',
    tenant: 'custodian',
    failures: {
      store: {
        get: async (k) => (counters.has(k) ? String(counters.get(k)) : null),
        increment: async (k) => {
          counters.set(k, (counters.get(k) ?? 0) + 1);
          return { count: counters.get(k)!, ttlMillis: 900_000 };
        },
      },
      hashKey: 'test-hash-key-0123456789-0123456789',
      maxFailures: 3,
      windowSeconds: 900,
    },
    logger: createLogger({ level: 'silent' }),
    deletedAccounts: { wasDeleted: async (id) => deleted.has(id) },
    directory: {
      getUser: async (id) => users.get(id) ?? null,
      findUserByUsername: async (u) => [...users.values()].find((x) => x.username === u) ?? null,
      findUsersByEmail: async (e) => [...users.values()].filter((x) => x.email === e),
      findUsersByAttribute: async (n, v) => [...users.values()].filter((x) => x.attributes[n]?.includes(v)),
      createUser: async (u: NewDirectoryUser) => {
        // The realm's policy (length(10)), checked inside the create as Keycloak does.
        if (u.password !== undefined && u.password.length < 10) {
          throw new DomainError('VALIDATION_FAILED', 'policy', {
            fields: [{ field: 'password', reason: 'policy', message: 'Invalid password: minimum length 10.' }],
          });
        }
        if ([...users.values()].some((x) => x.username === u.username || (u.email && x.email === u.email))) {
          throw new DomainError('ACCOUNT_EXISTS', 'taken', { fields: [{ field: 'username', reason: 'taken', message: '' }] });
        }
        const id = `kc-${nextId++}`;
        const { password, ...rest } = u;
        users.set(id, {
          ...rest,
          id,
          emailVerified: !!u.emailVerified,
          enabled: u.enabled ?? true,
          attributes: u.attributes ?? {},
          orgs: [],
          ...(password ? { password } : {}),
        });
        return { id };
      },
      deleteUser: async (id) => void users.delete(id),
      addToOrganization: async (id, org) => void users.get(id)!.orgs.push(org),
    },
    upstream: {
      verifyPassword: async (login, password) => {
        verifications++;
        if (upstreamDown) throw new DomainError('UPSTREAM_UNAVAILABLE', 'down');
        const m = byLogin(login);
        if (!m || m.password !== password) return { outcome: 'invalid' };
        return m.status === 'active' ? { outcome: 'valid', user: m } : { outcome: 'not_active' };
      },
      findUser: async (lookup) => byLogin(Object.values(lookup)[0]!) ?? null,
      getUser: async (id) => members.get(id) ?? null,
      linkExternalId: async (id, externalId, opts = {}) => {
        if (upstreamDown) throw new DomainError('UPSTREAM_UNAVAILABLE', 'down');
        const m = members.get(id)!;
        // The contract's compare-and-set: another value is replaced only when named in `replaces`.
        if (m.externalId !== null && m.externalId !== externalId && m.externalId !== opts.replaces) {
          throw new DomainError('CONFLICT', 'linked elsewhere', { details: { upstreamCode: 'EXTERNAL_ID_CONFLICT' } });
        }
        m.externalId = externalId;
        return m;
      },
    },
  };
  return {
    deps,
    users,
    members,
    member,
    counters,
    deleted,
    verifications: () => verifications,
    setUpstreamDown: (down: boolean) => void (upstreamDown = down),
  };
}

let w: ReturnType<typeof world>;
beforeEach(() => {
  w = world();
});

describe('readLogin', () => {
  it('reads e-mails, national and international phone numbers and usernames', () => {
    expect(readLogin(' Asha.Verma@Example.com ', 'IN')).toEqual({ email: 'asha.verma@example.com' });
    expect(readLogin('98765 43210', 'IN')).toEqual({ phone: '+919876543210' });
    expect(readLogin('+91 98765-43210', 'IN')).toEqual({ phone: '+919876543210' });
    expect(readLogin('Asha.Verma', 'IN')).toEqual({ username: 'asha.verma' });
    expect(readLogin('12', 'IN')).toEqual({ username: '12' });
  });
});

describe('signIn', () => {
  for (const login of ['asha.verma', 'Asha.Verma@example.com', '+919876543210', '9876543210']) {
    it(`imports the member with the password, linked and in the tenant, when the core accepts it (${login})`, async () => {
      const m = w.member();
      const answer = await signIn(w.deps, { login, password: PASSWORD });
      expect(answer).toEqual({ outcome: 'user', userId: 'kc-1' });
      const user = w.users.get('kc-1')!;
      expect(user).toMatchObject({ username: 'asha.verma', email: 'asha.verma@example.com', enabled: true, password: PASSWORD, orgs: ['custodian'] });
      expect(user.attributes).toMatchObject({ upstreamUserId: [m.id], signUpType: ['upstreamMigration'], phone: ['+919876543210'] });
      expect(m.externalId).toBe('kc-1');
    });
  }

  it('imports a member whose upstream password is below the realm policy without it; the first password is then confirmed', async () => {
    const m = w.member({ password: 'Short#1' });
    const answer = await signIn(w.deps, { login: 'asha.verma', password: 'Short#1' });
    expect(answer).toEqual({ outcome: 'user', userId: 'kc-1' });
    const account = w.users.get('kc-1')!;
    expect(account.password).toBeUndefined();
    expect(account).toMatchObject({ orgs: ['custodian'], attributes: { upstreamUserId: [m.id] } });
    expect(w.members.get(m.id)!.externalId).toBe('kc-1');
    // Keycloak's next question (the account has no password): does the core accept it for this account?
    expect(await signIn(w.deps, { login: 'asha.verma', password: 'Short#1', userId: 'kc-1' })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(await signIn(w.deps, { login: 'asha.verma', password: 'Short#2', userId: 'kc-1' })).toEqual({ outcome: 'none' });
  });

  it('imports nothing on a wrong password, an unknown login or an inactive member', async () => {
    w.member();
    w.member({ username: 'meena', email: 'meena@example.com', phone: '+919800000003', status: 'inactive' });
    expect(await signIn(w.deps, { login: 'asha.verma', password: 'wrong-password' })).toEqual({ outcome: 'none' });
    expect(await signIn(w.deps, { login: 'nobody', password: PASSWORD })).toEqual({ outcome: 'none' });
    expect(await signIn(w.deps, { login: 'meena', password: PASSWORD })).toEqual({ outcome: 'none' });
    expect(w.users.size).toBe(0);
    expect([...w.members.values()].every((m) => m.externalId === null)).toBe(true);
  });

  it('stops asking the core after too many wrong passwords of one login (however it is spelled)', async () => {
    w.member();
    for (const login of ['asha.verma', 'ASHA.VERMA', ' asha.verma']) {
      expect(await signIn(w.deps, { login, password: 'wrong-password' })).toEqual({ outcome: 'none' });
    }
    expect(w.verifications()).toBe(3);
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).toEqual({ outcome: 'none' });
    expect(w.verifications()).toBe(3);
    expect(w.users.size).toBe(0);
    // Counted per login: the e-mail is another login (the core may lock the member itself).
    expect(await signIn(w.deps, { login: 'asha.verma@example.com', password: PASSWORD })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect([...w.counters.keys()].join()).not.toContain('asha');
  });

  it('is idempotent: a second call answers the same account without asking the core', async () => {
    w.member();
    await signIn(w.deps, { login: 'asha.verma', password: PASSWORD });
    w.setUpstreamDown(true);
    expect(await signIn(w.deps, { login: '+919876543210', password: 'anything' })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(w.users.size).toBe(1);
  });

  it('leaves nothing behind when the core goes down half-way', async () => {
    const m = w.member();
    const link = w.deps.upstream.linkExternalId;
    w.deps.upstream.linkExternalId = async () => {
      throw new DomainError('UPSTREAM_UNAVAILABLE', 'down');
    };
    await expect(signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(w.users.size).toBe(0);
    w.deps.upstream.linkExternalId = link;
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).toEqual({ outcome: 'user', userId: 'kc-2' });
    expect(m.externalId).toBe('kc-2');
  });

  it('answers the account a concurrent import made', async () => {
    const m = w.member();
    const create = w.deps.directory.createUser;
    w.deps.directory.createUser = async (u) => {
      await create({ ...u }); // the other request wins the race
      return create(u);
    };
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(m.externalId).toBeNull(); // the other request links it
  });

  it('does not take over an account of someone else holding the username', async () => {
    w.member();
    await w.deps.directory.createUser({ username: 'asha.verma', firstName: 'Other' });
    // Keycloak found no one by e-mail; the username is taken by an unlinked account.
    expect(await signIn(w.deps, { login: 'asha.verma@example.com', password: PASSWORD })).toEqual({ outcome: 'none' });
    expect(w.users.size).toBe(1);
  });

  it('relinks a member whose externalId names no account: imported as a new account, the stale value replaced', async () => {
    const m = w.member({ externalId: 'made-up-by-another-client' });
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(w.users.get('kc-1')).toMatchObject({ password: PASSWORD, orgs: ['custodian'], attributes: { upstreamUserId: [m.id] } });
    expect(m.externalId).toBe('kc-1');
    // From now on the link is live: the next sign-in answers that account.
    expect(await signIn(w.deps, { login: 'asha.verma@example.com', password: PASSWORD })).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(w.users.size).toBe(1);
  });

  it('relinks nothing on a wrong password, and leaves no account when the stale value changed meanwhile', async () => {
    const m = w.member({ externalId: 'stale' });
    expect(await signIn(w.deps, { login: 'asha.verma', password: 'wrong-password' })).toEqual({ outcome: 'none' });
    expect(m.externalId).toBe('stale');
    const link = w.deps.upstream.linkExternalId;
    w.deps.upstream.linkExternalId = async (id, externalId, opts) => {
      m.externalId = 'changed-by-someone-else'; // between our read and our write
      return link(id, externalId, opts);
    };
    await expect(signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(w.users.size).toBe(0);
    expect(m.externalId).toBe('changed-by-someone-else');
  });

  it('does not bring back an account Keycloak recorded as deleted (its deactivation may be on its way)', async () => {
    const m = w.member({ externalId: 'kc-deleted' });
    w.deleted.add('kc-deleted');
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD })).toEqual({ outcome: 'none' });
    expect(await prepareReset(w.deps, 'asha.verma')).toEqual({ outcome: 'none' });
    expect(w.users.size).toBe(0);
    expect(m.externalId).toBe('kc-deleted');
  });

  it('confirms the first password of an account imported for a reset only when the core accepts it', async () => {
    w.member();
    const { userId } = (await prepareReset(w.deps, 'asha.verma@example.com')) as { userId: string };
    expect(w.users.get(userId)!.password).toBeUndefined();
    expect(await signIn(w.deps, { login: 'asha.verma', password: 'wrong-password', userId })).toEqual({ outcome: 'none' });
    expect(await signIn(w.deps, { login: 'asha.verma', password: PASSWORD, userId })).toEqual({ outcome: 'user', userId });
    // Keycloak sets it (in its own session); the BFF writes nothing.
    expect(w.users.get(userId)!.password).toBeUndefined();
    expect(await signIn(w.deps, { login: 'x', password: PASSWORD, userId: 'kc-unknown' })).toEqual({ outcome: 'none' });
  });
});

describe('prepareReset', () => {
  it('imports an active member with an e-mail, without a password, by any identifier', async () => {
    const m = w.member();
    expect(await prepareReset(w.deps, '98765 43210')).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(w.users.get('kc-1')).toMatchObject({ username: 'asha.verma', orgs: ['custodian'] });
    expect(w.users.get('kc-1')!.password).toBeUndefined();
    expect(m.externalId).toBe('kc-1');
    expect(await prepareReset(w.deps, 'asha.verma')).toEqual({ outcome: 'user', userId: 'kc-1' });
    expect(w.users.size).toBe(1);
  });

  it('imports no one unknown, inactive or without an e-mail', async () => {
    w.member({ username: 'meena', email: 'meena@example.com', phone: null, status: 'inactive' });
    w.member({ username: 'ravi', email: null, phone: '+919812345678' });
    for (const login of ['nobody@example.com', 'meena', 'ravi']) expect(await prepareReset(w.deps, login)).toEqual({ outcome: 'none' });
    expect(w.users.size).toBe(0);
  });
});
