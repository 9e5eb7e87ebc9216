import { describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import type { GoogleIdentity } from '../../ports/google-id-tokens.ts';
import type { DirectoryUser } from '../../ports/identity-directory.ts';
import type { UpstreamUser } from '../../ports/upstream-core.ts';
import { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { type GoogleNativeDeps, signInWithGoogle } from './use-cases.ts';

const EMAIL = 'asha@gmail.example';
const IP = '203.0.113.9';

const identity = (over: Partial<GoogleIdentity> = {}): GoogleIdentity => ({
  subject: 'g-1',
  email: EMAIL,
  emailVerified: true,
  givenName: 'Asha',
  familyName: 'Native',
  expiresAt: new Date(Date.now() + 600_000),
  ...over,
});

const account = (over: Partial<DirectoryUser> = {}): DirectoryUser => ({
  id: 'kc-1',
  username: 'asha',
  email: EMAIL,
  emailVerified: true,
  enabled: true,
  attributes: {},
  ...over,
});

const profile = (over: Partial<UpstreamUser> = {}): UpstreamUser => ({
  id: 'up-1',
  externalId: 'kc-1',
  username: 'asha',
  firstName: 'Asha',
  lastName: null,
  email: EMAIL,
  phone: null,
  status: 'active',
  hasPassword: false,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

/** In-memory Keycloak, upstream core and Redis; records what was written. */
function world(
  opts: {
    who?: GoogleIdentity;
    accounts?: DirectoryUser[];
    links?: Record<string, string>;
    profiles?: UpstreamUser[];
    keys?: Record<string, string>;
    max?: number;
  } = {},
) {
  const accounts = opts.accounts ?? [];
  const links = { ...opts.links };
  const profiles = opts.profiles ?? [];
  const used = new Set<string>();
  const counters = new Map<string, number>();
  const created: unknown[] = [];
  const keys: Record<string, string> = { ...opts.keys };
  const provisioned: string[] = [];
  const deps: GoogleNativeDeps = {
    idTokens: {
      verify: async (token) => {
        if (token === 'bad') throw new DomainError('UNAUTHENTICATED', 'bad', { details: { reason: 'signature' } });
        return opts.who ?? identity();
      },
    },
    federated: {
      findLinked: async (provider, subject) => links[`${provider}/${subject}`] ?? null,
      link: async (userId, l) => {
        links[`${l.provider}/${l.subject}`] = userId;
      },
      signIn: async () => ({ accessToken: 'kc-access', tokenType: 'Bearer', expiresIn: 300 }),
    },
    directory: {
      getUser: async (id) => accounts.find((a) => a.id === id) ?? null,
      findUsersByEmail: async (email) => accounts.filter((a) => a.email === email),
      organizationsOf: async () => [],
    },
    upstream: {
      findUser: async (lookup) => profiles.find((p) => 'email' in lookup && p.email === lookup.email) ?? null,
      getUser: async (id) => profiles.find((p) => p.id === id) ?? null,
      getUserByExternalId: async (id) => profiles.find((p) => p.externalId === id) ?? null,
    },
    accounts: {
      // As AccountService does: a known key answers its account; a proven e-mail is taken.
      create: async (input, { idempotencyKey }) => {
        const earlier = keys[idempotencyKey];
        if (earlier) return { userId: earlier, username: 'asha_1234', upstreamUserId: 'up-new', created: false };
        if (accounts.some((a) => a.email === input.email && a.emailVerified)) throw new DomainError('ACCOUNT_EXISTS', 'taken');
        created.push(input);
        accounts.push(account({ id: 'kc-new', email: input.email, emailVerified: input.emailVerified, attributes: { signUpType: ['google'] } }));
        keys[idempotencyKey] = 'kc-new';
        return { userId: 'kc-new', username: 'asha_1234', upstreamUserId: 'up-new', created: true };
      },
      ensureProvisioned: async (userId) => {
        provisioned.push(userId);
        return { upstreamUserId: 'up-1', created: false };
      },
    },
    replays: {
      setIfAbsent: async (key) => {
        if (used.has(key)) return false;
        used.add(key);
        return true;
      },
    },
    limits: {
      limiter: new RateLimiter({
        hashKey: 'k'.repeat(32),
        store: {
          increment: async (key) => {
            const count = (counters.get(key) ?? 0) + 1;
            counters.set(key, count);
            return { count, ttlMillis: 3_600_000 };
          },
          decrement: async () => {},
        },
      }),
      perIp: { name: 'google-native-ip', per: 'ip', max: opts.max ?? 100, windowSeconds: 3600, message: 'slow down' },
    },
    identityProvider: 'google-demo',
    defaultTenant: 'custodian',
  };
  return { deps, created, provisioned, links };
}

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  const d = err as DomainError;
  return { code: d.code, reason: d.details.reason };
};

describe('signInWithGoogle', () => {
  it('creates a verified, password-less google account for a new identity and links it', async () => {
    const w = world();
    const r = await signInWithGoogle(w.deps, 'tok-1', IP);
    expect(r).toMatchObject({ created: true, userId: 'kc-new', tokens: { accessToken: 'kc-access' } });
    expect(w.created).toEqual([
      { firstName: 'Asha', lastName: 'Native', email: EMAIL, emailVerified: true, phoneVerified: false, signUpType: 'google', tenant: 'custodian' },
    ]);
    expect(w.links).toEqual({ 'google-demo/g-1': 'kc-new' });
  });

  it('signs the linked account in and provisions it; nothing created', async () => {
    const w = world({ accounts: [account()], links: { 'google-demo/g-1': 'kc-1' }, profiles: [profile()] });
    const r = await signInWithGoogle(w.deps, 'tok-1', IP);
    expect(r).toMatchObject({ created: false, userId: 'kc-1' });
    expect(w.created).toEqual([]);
    expect(w.provisioned).toEqual(['kc-1']);
  });

  it('refuses a used token, a bad one, an unverified e-mail', async () => {
    const w = world();
    await signInWithGoogle(w.deps, 'tok-1', IP);
    expect(await refusal(signInWithGoogle(w.deps, 'tok-1', IP))).toEqual({ code: 'UNAUTHENTICATED', reason: 'replayed' });
    expect(await refusal(signInWithGoogle(w.deps, 'bad', IP))).toEqual({ code: 'UNAUTHENTICATED', reason: 'signature' });
    const unverified = world({ who: identity({ emailVerified: false }) });
    expect(await refusal(signInWithGoogle(unverified.deps, 'tok-2', IP))).toEqual({ code: 'FORBIDDEN', reason: 'email_not_verified' });
    expect(unverified.created).toEqual([]);
  });

  it('never takes over or links an account found by e-mail', async () => {
    const unproven = world({ accounts: [account({ emailVerified: false })] });
    expect(await refusal(signInWithGoogle(unproven.deps, 't', IP))).toEqual({ code: 'CONFLICT', reason: 'email_unverified_account' });
    const proven = world({ accounts: [account()] });
    expect(await refusal(signInWithGoogle(proven.deps, 't', IP))).toEqual({ code: 'CONFLICT', reason: 'link_required' });
    const member = world({ profiles: [profile({ externalId: null })] });
    expect(await refusal(signInWithGoogle(member.deps, 't', IP))).toEqual({ code: 'CONFLICT', reason: 'link_required' });
    for (const w of [unproven, proven, member]) {
      expect(w.created).toEqual([]);
      expect(w.links).toEqual({});
    }
  });

  it('finishes a creation whose link was lost (same Google identity, same creation key); another identity is refused', async () => {
    const google = account({ id: 'kc-7', attributes: { signUpType: ['google'] } });
    const same = world({ accounts: [google], keys: { 'google-native:google-demo:g-1': 'kc-7' } });
    expect(await signInWithGoogle(same.deps, 't', IP)).toMatchObject({ created: false, userId: 'kc-7' });
    expect(same.links).toEqual({ 'google-demo/g-1': 'kc-7' });
    expect(same.created).toEqual([]);
    const other = world({ accounts: [google], keys: { 'google-native:google-demo:g-other': 'kc-7' } });
    expect(await refusal(signInWithGoogle(other.deps, 't', IP))).toEqual({ code: 'CONFLICT', reason: 'link_required' });
    expect(other.links).toEqual({});
    expect(other.created).toEqual([]);
  });

  it('refuses disabled and closed accounts, linked or by e-mail', async () => {
    const disabled = world({ accounts: [account({ enabled: false })] });
    expect(await refusal(signInWithGoogle(disabled.deps, 't', IP))).toEqual({ code: 'FORBIDDEN', reason: 'account_disabled' });
    const closed = world({ profiles: [profile({ status: 'inactive' })] });
    expect(await refusal(signInWithGoogle(closed.deps, 't', IP))).toEqual({ code: 'FORBIDDEN', reason: 'account_closed' });
    const linkedDisabled = world({ accounts: [account({ enabled: false })], links: { 'google-demo/g-1': 'kc-1' } });
    expect(await refusal(signInWithGoogle(linkedDisabled.deps, 't', IP))).toEqual({ code: 'FORBIDDEN', reason: 'account_disabled' });
    const linkedClosed = world({ accounts: [account()], links: { 'google-demo/g-1': 'kc-1' }, profiles: [profile({ status: 'inactive' })] });
    expect(await refusal(signInWithGoogle(linkedClosed.deps, 't', IP))).toEqual({ code: 'FORBIDDEN', reason: 'account_closed' });
    expect(linkedClosed.provisioned).toEqual([]);
  });

  it('counts every request against the per-IP limit, bad ones included', async () => {
    const w = world({ max: 2 });
    await refusal(signInWithGoogle(w.deps, 'bad', IP));
    await refusal(signInWithGoogle(w.deps, 'bad', IP));
    expect((await refusal(signInWithGoogle(w.deps, 'bad', IP))).code).toBe('RATE_LIMITED');
  });
});
