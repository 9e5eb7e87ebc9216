import type { Context, Middleware } from 'koa';
import { activeAccount } from '../accounts/active-account.ts';
import { DomainError, isDomainError } from '../kernel/errors.ts';
import type { AccessTokenClaims, AccessTokens } from '../ports/access-tokens.ts';
import type { DirectoryTenant, DirectoryUser, IdentityDirectory } from '../ports/identity-directory.ts';

/** The realm role of the admin APIs (partners, members, the claim audit, the user list). */
export const PLATFORM_ADMIN_ROLE = 'platform-admin';

/** The realm role of a tenant's administrators: with it, a member of a tenant's organization administers that tenant. */
export const TENANT_ADMIN_ROLE = 'tenant-admin';

/** The bearer token of an `Authorization` header (RFC 6750 b64token), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? '');
  return match?.[1];
}

/** Who called, from a verified access token. */
export interface Principal {
  /** `azp`: the client the token was issued to. */
  clientId: string;
  /** `sub`: the account (a person's, or a client's service account). */
  userId?: string;
  roles: readonly string[];
  /** `act.client_id` of a userToken: the partner acting for the user. */
  actor?: string;
  /** The account as Keycloak holds it now, enabled (tokens checked with a `directory`). */
  account?: DirectoryUser;
}

/** What every protected route of the admin APIs and the user API is given. */
export interface AccessTokenDeps {
  accessTokens: AccessTokens;
  /** The audience the tokens must carry (the BFF's client id). */
  audience: string;
  directory: Pick<IdentityDirectory, 'getUser'>;
}

interface AccessTokenRule {
  tokens: AccessTokens;
  /** The audience the token must carry; also the realm of the `WWW-Authenticate` challenge. */
  audience: string;
  /** Clients (`azp`) whose tokens are taken; any client when absent. */
  clients?: readonly string[];
  /** A realm role the token must carry: 403 FORBIDDEN without it. */
  role?: string;
  /** A userToken: `act.client_id` must name the partner acting for the user. */
  actor?: boolean;
  /** What a 401 asks for, e.g. `a userToken` (default `an access token`). */
  credential?: string;
}

export type AccessTokenSettings = AccessTokenRule &
  (
    | {
        /**
         * A person's or an admin's token: `sub` must name an account still enabled in Keycloak. Access
         * tokens are checked locally and live for minutes after an account was disabled or deleted,
         * so the account is read on every request (issue 15 §5) and one that is gone is 401.
         */
        directory: Pick<IdentityDirectory, 'getUser'>;
      }
    | {
        /**
         * A partner's server token (SPEC Flow 3): a client's own token, no account read. Missing is
         * 401; not valid (signature, expiry, audience, no `azp` or `exp`) is 403. A partner sends the
         * same token until it expires, so a verified one is remembered until its `exp`: the signature
         * check runs once per token, not per request (the POST is the hot path, bench:partner).
         */
        server: { maxEntries?: number; now?: () => number };
      }
  );

/**
 * The one check of `Authorization: Bearer <access token>`: verified through the AccessTokens port,
 * then the audience, clients, actor, account and role the route asks for. Puts the Principal on
 * `ctx.state.principal`. A 401 carries the RFC 6750 challenge (`Bearer realm="<audience>"`, with
 * `error="invalid_token"` when a token was sent).
 *
 * `settings` is read at the first request, not when the router is built (routers are listed with
 * dependencies that must not be touched, bff/src/http/openapi.test.ts).
 */
export function requireAccessToken(settings: () => AccessTokenSettings): Middleware {
  let rule: { realm: string; check: (token: string | undefined) => Promise<Principal> } | undefined;
  return async (ctx, next) => {
    if (!rule) {
      const s = settings();
      rule = { realm: s.audience, check: checkerOf(s) };
    }
    const { realm, check } = rule;
    ctx.state.principal = await challenging(ctx, realm, () => check(bearerToken(ctx.get('authorization') || undefined)));
    await next();
  };
}

function checkerOf(s: AccessTokenSettings): (token: string | undefined) => Promise<Principal> {
  const credential = s.credential ?? 'an access token';
  const remembered = 'server' in s ? new VerifiedTokens(s.server) : undefined;
  // A server token that is not good is 403 (SPEC Flow 3); any other is 401.
  const refuse = (message: string, cause?: unknown) => new DomainError(remembered ? 'FORBIDDEN' : 'UNAUTHENTICATED', message, { cause });

  return async (token) => {
    if (!token) throw new DomainError('UNAUTHENTICATED', `Send ${credential}: Authorization: Bearer <token>`);
    const known = remembered?.get(token);
    if (known) return known;

    let claims: AccessTokenClaims;
    try {
      claims = await s.tokens.verify(token, { audience: s.audience });
    } catch (err) {
      if (isDomainError(err) && err.code === 'UNAUTHENTICATED') throw refuse(err.message, err);
      throw err;
    }
    const actor = typeof claims.act?.client_id === 'string' ? claims.act.client_id : undefined;
    if (!claims.azp || (s.clients && !s.clients.includes(claims.azp)) || (s.actor && !actor)) throw refuse(`This token is not ${credential} of this API`);
    const principal: Principal = {
      clientId: claims.azp,
      ...(claims.sub ? { userId: claims.sub } : {}),
      roles: claims.realm_access?.roles ?? [],
      ...(actor ? { actor } : {}),
    };

    if (remembered) {
      if (claims.exp === undefined) throw refuse('The server token names no expiry');
      remembered.set(token, principal, claims.exp * 1000);
    } else if ('directory' in s) {
      if (!claims.sub) throw refuse(`This token is not ${credential} of this API`);
      // Before the role: a disabled account is signed out, whatever its token says.
      principal.account = await activeAccount(s.directory, claims.sub);
    }
    if (s.role && !principal.roles.includes(s.role)) throw new DomainError('FORBIDDEN', `The realm role ${s.role} is required`);
    return principal;
  };
}

/** Verified server tokens until their `exp`; oldest first out beyond `maxEntries`. Refused tokens are never kept. */
class VerifiedTokens {
  readonly #entries = new Map<string, { principal: Principal; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(opts: { maxEntries?: number; now?: () => number }) {
    this.#maxEntries = opts.maxEntries ?? 1_000;
    this.#now = opts.now ?? Date.now;
  }

  get(token: string): Principal | undefined {
    const known = this.#entries.get(token);
    if (known && known.expiresAt > this.#now()) return known.principal;
    if (known) this.#entries.delete(token);
    return undefined;
  }

  set(token: string, principal: Principal, expiresAt: number): void {
    // A Map iterates in insertion order: the first key is the oldest.
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, { principal, expiresAt });
  }
}

/** What `requireTenantAdmin` reads: the token's account, its organizations and the tenant. */
export interface TenantAdminSettings {
  tokens: AccessTokens;
  audience: string;
  directory: Pick<IdentityDirectory, 'getUser' | 'organizationsOf' | 'findOrganization'>;
}

/**
 * The administrators of the tenant named by the route's `:tenant` (issue 18): a platform admin (realm
 * role `platform-admin`), or a tenant admin (realm role `tenant-admin`) who is a member of that
 * tenant's Keycloak organization. No token 401; neither role 403; an unknown tenant 404; another
 * tenant's admin 403 (tenant aliases are not secret: the realm's organizations name them). Use it on
 * each route (not `router.use`: only a route's own middleware sees its `:tenant`). Puts the Principal
 * on `ctx.state.principal` and the tenant on `ctx.state.tenant` (`tenantOf`).
 */
export function requireTenantAdmin(settings: () => TenantAdminSettings, param = 'tenant'): Middleware {
  let token: Middleware | undefined;
  return async (ctx, next) => {
    const s = settings();
    token ??= requireAccessToken(() => ({ tokens: s.tokens, audience: s.audience, directory: s.directory }));
    await token(ctx, async () => {
      const principal = principalOf(ctx);
      const platformAdmin = principal.roles.includes(PLATFORM_ADMIN_ROLE);
      if (!platformAdmin && !principal.roles.includes(TENANT_ADMIN_ROLE)) {
        throw new DomainError('FORBIDDEN', `The realm role ${PLATFORM_ADMIN_ROLE} or ${TENANT_ADMIN_ROLE} is required`);
      }
      const alias = String((ctx.params as Record<string, string> | undefined)?.[param] ?? '');
      const tenant = /^[a-z0-9][a-z0-9._-]{0,99}$/i.test(alias) ? await s.directory.findOrganization(alias) : null;
      if (!tenant) throw new DomainError('NOT_FOUND', 'No such tenant');
      if (!platformAdmin && !(await s.directory.organizationsOf(principal.userId!)).some((o) => o.id === tenant.id)) {
        throw new DomainError('FORBIDDEN', `Only an administrator of the tenant ${tenant.alias} may do this`);
      }
      ctx.state.tenant = tenant;
      await next();
    });
  };
}

/** The tenant that `requireTenantAdmin` checked. */
export function tenantOf(ctx: Context): DirectoryTenant {
  const tenant = ctx.state.tenant as DirectoryTenant | undefined;
  if (!tenant) throw new Error('tenantOf: route without requireTenantAdmin');
  return tenant;
}

/**
 * Runs `fn` with the refresh token sent as the bearer credential (GET /auth/refresh, POST
 * /auth/logout); a missing or refused one answers 401 with the Bearer challenge of `realm`.
 */
export async function withRefreshToken<T>(ctx: Context, realm: string, fn: (refreshToken: string) => Promise<T>): Promise<T> {
  return challenging(ctx, realm, () => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'Send the refresh token: Authorization: Bearer <refresh token>');
    return fn(token);
  });
}

// RFC 6750 §3: a 401 names the scheme and realm, with `invalid_token` when a token was sent but is not good.
async function challenging<T>(ctx: Context, realm: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDomainError(err) && err.code === 'UNAUTHENTICATED') {
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}"${ctx.get('authorization') ? ', error="invalid_token"' : ''}`);
    }
    throw err;
  }
}

/** The Principal that `requireAccessToken` put on the request. */
export function principalOf(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: route without requireAccessToken');
  return principal;
}

/** The caller's account, enabled, as Keycloak held it when the request came in. */
export function accountOf(ctx: Context): DirectoryUser {
  const account = principalOf(ctx).account;
  if (!account) throw new Error('accountOf: route without an account check (requireAccessToken with a directory)');
  return account;
}
