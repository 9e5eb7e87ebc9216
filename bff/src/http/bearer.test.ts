import type { Context, Middleware } from 'koa';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../kernel/errors.ts';
import type { AccessTokenClaims, AccessTokens } from '../ports/access-tokens.ts';
import type { DirectoryUser } from '../ports/identity-directory.ts';
import { accountOf, bearerToken, principalOf, requireAccessToken, requireTenantAdmin, tenantOf, withRefreshToken, type Principal } from './bearer.ts';

/** Access tokens by name: claims, or `invalid` (UNAUTHENTICATED) / `down` (keys unavailable). */
function fakeTokens(known: Record<string, AccessTokenClaims | 'invalid' | 'down'>) {
  const calls: string[] = [];
  const tokens: AccessTokens = {
    async verify(token, opts) {
      calls.push(`${token}@${opts.audience}`);
      const c = known[token];
      if (c === 'invalid' || c === undefined) throw new DomainError('UNAUTHENTICATED', 'The access token is not valid');
      if (c === 'down') throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'no keys');
      return c;
    },
  };
  return { tokens, calls };
}

function fakeDirectory(users: Record<string, boolean>) {
  const reads: string[] = [];
  return {
    reads,
    directory: {
      async getUser(id: string): Promise<DirectoryUser | null> {
        reads.push(id);
        return id in users ? { id, username: `u-${id}`, emailVerified: true, enabled: users[id]!, attributes: {} } : null;
      },
    },
  };
}

interface Outcome {
  result: string;
  challenge?: string;
  principal?: Principal;
}

/** Runs the middleware on a request with this Authorization header: `ok`, or the refusal's code. */
async function run(mw: Middleware, authorization?: string): Promise<Outcome> {
  const headers: Record<string, string> = {};
  const ctx = {
    state: {} as Record<string, unknown>,
    get: (name: string) => (name.toLowerCase() === 'authorization' ? (authorization ?? '') : ''),
    set: (name: string, value: string) => void (headers[name] = value),
  } as unknown as Context;
  let reached = false;
  try {
    await mw(ctx, async () => {
      reached = true;
    });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { result: err.code, ...(headers['WWW-Authenticate'] ? { challenge: headers['WWW-Authenticate'] } : {}) };
  }
  expect(reached).toBe(true);
  return { result: 'ok', principal: principalOf(ctx) };
}

const future = 2e9;

describe('bearerToken', () => {
  it('takes the b64token of a Bearer header only', () => {
    expect(bearerToken('Bearer abc.def-_~+/=')).toBe('abc.def-_~+/=');
    expect(bearerToken('bearer  abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('requireAccessToken: a person or an admin', () => {
  const { tokens } = fakeTokens({
    alice: { sub: 'u1', azp: 'user-api', exp: future },
    admin: { sub: 'u2', azp: 'user-api', exp: future, realm_access: { roles: ['platform-admin'] } },
    disabledAdmin: { sub: 'u3', azp: 'user-api', exp: future, realm_access: { roles: ['platform-admin'] } },
    gone: { sub: 'u4', azp: 'user-api', exp: future },
    partner: { sub: 'sa', azp: 'bank', exp: future },
    noSub: { azp: 'user-api', exp: future },
    bad: 'invalid',
    down: 'down',
  });
  const { directory, reads } = fakeDirectory({ u1: true, u2: true, u3: false, sa: true });
  const user = requireAccessToken(() => ({ tokens, directory, audience: 'bff', clients: ['user-api'] }));
  const admin = requireAccessToken(() => ({ tokens, directory, audience: 'bff', role: 'platform-admin' }));

  it('puts the enabled account on the request', async () => {
    const ok = await run(user, 'Bearer alice');
    expect(ok.result).toBe('ok');
    expect(ok.principal).toMatchObject({ clientId: 'user-api', userId: 'u1', roles: [], account: { id: 'u1', enabled: true } });
  });

  it('401 with the RFC 6750 challenge: none sent, not valid, another client, no sub, an account disabled or gone', async () => {
    expect(await run(user)).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff"' });
    expect(await run(user, 'Basic abc')).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff", error="invalid_token"' });
    for (const token of ['bad', 'partner', 'noSub', 'gone', 'disabledAdmin']) {
      expect(await run(user, `Bearer ${token}`), token).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff", error="invalid_token"' });
    }
  });

  it('keys that cannot be fetched are 503, not a refusal of the token', async () => {
    expect(await run(user, 'Bearer down')).toEqual({ result: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
  });

  it('a role: 403 without it; a disabled admin is signed out (401) before the role counts', async () => {
    expect((await run(admin, 'Bearer admin')).result).toBe('ok');
    expect(await run(admin, 'Bearer partner')).toEqual({ result: 'FORBIDDEN' });
    expect(await run(admin, 'Bearer alice')).toEqual({ result: 'FORBIDDEN' });
    expect((await run(admin, 'Bearer disabledAdmin')).result).toBe('UNAUTHENTICATED');
  });

  it('reads the account on every request: no token is trusted beyond its account', async () => {
    reads.length = 0;
    await run(user, 'Bearer alice');
    await run(user, 'Bearer alice');
    expect(reads).toEqual(['u1', 'u1']);
  });
});

describe('requireAccessToken: a userToken', () => {
  const { tokens, calls } = fakeTokens({
    good: { sub: 'u1', azp: 'partner-user-tokens', exp: future, act: { client_id: 'bank' } },
    noActor: { sub: 'u1', azp: 'partner-user-tokens', exp: future },
    otherClient: { sub: 'u1', azp: 'user-api', exp: future, act: { client_id: 'bank' } },
  });
  const { directory } = fakeDirectory({ u1: true });
  const userToken = requireAccessToken(() => ({
    tokens,
    directory,
    audience: 'platform-partner-api',
    clients: ['partner-user-tokens'],
    actor: true,
    credential: 'a userToken',
  }));

  it('names the partner acting for the user; anything else is 401 with the challenge of its audience', async () => {
    expect((await run(userToken, 'Bearer good')).principal).toMatchObject({ actor: 'bank', userId: 'u1', account: { id: 'u1' } });
    expect(calls).toEqual(['good@platform-partner-api']);
    for (const token of ['noActor', 'otherClient']) {
      expect(await run(userToken, `Bearer ${token}`)).toEqual({
        result: 'UNAUTHENTICATED',
        challenge: 'Bearer realm="platform-partner-api", error="invalid_token"',
      });
    }
  });
});

describe('requireAccessToken: a partner server token (SPEC Flow 3)', () => {
  const server = (known: Parameters<typeof fakeTokens>[0], opts: { maxEntries?: number; now?: () => number } = {}) => {
    const fake = fakeTokens(known);
    return { ...fake, mw: requireAccessToken(() => ({ tokens: fake.tokens, audience: 'bff', server: opts, credential: 'a server token' })) };
  };

  it('401 without a bearer token; 403 for an invalid one or one without azp or exp; 503 passes through; no account read', async () => {
    const { mw } = server({ bad: 'invalid', noAzp: { exp: future }, noExp: { azp: 'bank' }, down: 'down', good: { azp: 'bank', exp: future } });
    expect(await run(mw)).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff"' });
    expect((await run(mw, 'Basic abc')).result).toBe('UNAUTHENTICATED');
    expect(await run(mw, 'Bearer bad')).toEqual({ result: 'FORBIDDEN' });
    expect(await run(mw, 'Bearer noAzp')).toEqual({ result: 'FORBIDDEN' });
    expect(await run(mw, 'Bearer noExp')).toEqual({ result: 'FORBIDDEN' });
    expect(await run(mw, 'Bearer down')).toEqual({ result: 'IDENTITY_DIRECTORY_UNAVAILABLE' });
    expect((await run(mw, 'Bearer good')).principal).toEqual({ clientId: 'bank', roles: [] });
  });

  it('verifies a token once until it expires, with the audience of the BFF', async () => {
    let now = 1_000_000;
    const { mw, calls } = server({ t1: { azp: 'bank', exp: 1_100 } }, { now: () => now });
    expect((await run(mw, 'Bearer t1')).principal?.clientId).toBe('bank');
    expect((await run(mw, 'Bearer t1')).principal?.clientId).toBe('bank');
    expect(calls).toEqual(['t1@bff']);
    now = 1_100_000; // exp reached: checked again (and refused by the real verifier)
    await run(mw, 'Bearer t1');
    expect(calls).toHaveLength(2);
  });

  it('never remembers a refused token, and forgets the oldest beyond its size', async () => {
    const { mw, calls } = server(
      { bad: 'invalid', noExp: { azp: 'X' }, a: { azp: 'A', exp: future }, b: { azp: 'B', exp: future }, c: { azp: 'C', exp: future } },
      { maxEntries: 2 },
    );
    for (const t of ['bad', 'bad', 'noExp', 'noExp']) await run(mw, `Bearer ${t}`);
    for (const t of ['a', 'b', 'c', 'c', 'b', 'a']) expect((await run(mw, `Bearer ${t}`)).principal?.clientId).toBe(t.toUpperCase());
    expect(calls).toEqual(['bad@bff', 'bad@bff', 'noExp@bff', 'noExp@bff', 'a@bff', 'b@bff', 'c@bff', 'a@bff']);
  });
});

describe('withRefreshToken', () => {
  const call = async (authorization: string | undefined, fn: (token: string) => Promise<string>) => {
    const headers: Record<string, string> = {};
    const ctx = { get: () => authorization ?? '', set: (n: string, v: string) => void (headers[n] = v) } as unknown as Context;
    const result = await withRefreshToken(ctx, 'bff', fn).catch((err: DomainError) => err.code);
    return { result, challenge: headers['WWW-Authenticate'] };
  };

  it('hands the bearer credential on; a missing or refused one is 401 with the challenge', async () => {
    expect(await call('Bearer r1', async (t) => `used ${t}`)).toEqual({ result: 'used r1', challenge: undefined });
    expect(await call(undefined, async () => 'never')).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff"' });
    const refused = async () => {
      throw new DomainError('UNAUTHENTICATED', 'refused');
    };
    expect(await call('Bearer spent', refused)).toEqual({ result: 'UNAUTHENTICATED', challenge: 'Bearer realm="bff", error="invalid_token"' });
  });
});

describe('principalOf / accountOf', () => {
  it('fail loudly on a route without the check', () => {
    const ctx = { state: {} } as unknown as Context;
    expect(() => principalOf(ctx)).toThrow(/requireAccessToken/);
    (ctx.state as Record<string, unknown>).principal = { clientId: 'bank', roles: [] };
    expect(() => accountOf(ctx)).toThrow(/account check/);
  });
});

describe('requireTenantAdmin', () => {
  const { tokens } = fakeTokens({
    platform: { sub: 'p', azp: 'portal', exp: future, realm_access: { roles: ['platform-admin'] } },
    stateAdmin: { sub: 's', azp: 'portal', exp: future, realm_access: { roles: ['tenant-admin'] } },
    otherAdmin: { sub: 'o', azp: 'portal', exp: future, realm_access: { roles: ['tenant-admin'] } },
    plain: { sub: 's', azp: 'portal', exp: future },
  });
  const orgs = { s: [{ id: 'org-state', alias: 'state-demo', name: 'State' }], o: [{ id: 'org-other', alias: 'other', name: 'Other' }], p: [] };
  const directory = {
    async getUser(id: string): Promise<DirectoryUser | null> {
      return { id, username: id, emailVerified: true, enabled: true, attributes: {} };
    },
    async organizationsOf(id: string) {
      return orgs[id as keyof typeof orgs] ?? [];
    },
    async findOrganization(alias: string) {
      return alias === 'state-demo' ? { id: 'org-state', alias, name: 'State', attributes: {} } : null;
    },
  };
  const mw = requireTenantAdmin(() => ({ tokens, audience: 'bff', directory }));

  async function call(tenant: string, token?: string): Promise<string> {
    const state: Record<string, unknown> = {};
    const ctx = {
      state,
      params: { tenant },
      get: (n: string) => (n === 'authorization' && token ? `Bearer ${token}` : ''),
      set: () => {},
    } as unknown as Context;
    try {
      await mw(ctx, async () => {});
    } catch (err) {
      if (err instanceof DomainError) return err.code;
      throw err;
    }
    return `ok:${tenantOf(ctx).id}`;
  }

  it('lets a platform admin and the tenant organization’s tenant admin in; others are refused', async () => {
    expect(await call('state-demo')).toBe('UNAUTHENTICATED');
    expect(await call('state-demo', 'plain')).toBe('FORBIDDEN');
    expect(await call('state-demo', 'platform')).toBe('ok:org-state');
    expect(await call('state-demo', 'stateAdmin')).toBe('ok:org-state');
    expect(await call('state-demo', 'otherAdmin')).toBe('FORBIDDEN');
    expect(await call('nowhere', 'platform')).toBe('NOT_FOUND');
    expect(await call('nowhere', 'stateAdmin')).toBe('NOT_FOUND');
    expect(await call('../x', 'platform')).toBe('NOT_FOUND');
  });
});
