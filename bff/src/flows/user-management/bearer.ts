import type { Context, Middleware } from 'koa';
import { activeAccount } from '../../accounts/active-account.ts';
import { bearerToken, type AccessTokenVerifier } from '../../adapters/keycloak/access-token-verifier.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';

/** Who called: the Keycloak user id (`sub`) and realm roles of a verified access token. */
export interface Principal {
  userId: string;
  roles: readonly string[];
}

export interface BearerSettings {
  /** The audience the tokens must carry (the BFF's client id). */
  audience: string;
  /** Clients (`azp`) whose user tokens the API takes. Partner server tokens also carry the audience. */
  clients: readonly string[];
}

/**
 * Requires `Authorization: Bearer <access token>` of an account that is still enabled in Keycloak
 * (a disabled or deleted one is 401 although its token has not expired); puts the Principal on
 * `ctx.state.principal`. `deps` is read per request, never when the router is built.
 */
export function requireAccessToken(deps: { verifier: AccessTokenVerifier; bearer: BearerSettings; directory: Pick<IdentityDirectory, 'getUser'> }): Middleware {
  return async (ctx, next) => {
    const claims = await challenging(ctx, async () => {
      const token = bearerToken(ctx.get('authorization') || undefined);
      if (!token) throw new DomainError('UNAUTHENTICATED', 'Send an access token: Authorization: Bearer <token>');
      const verified = await deps.verifier.verify(token, { audience: deps.bearer.audience });
      if (!verified.sub || !verified.azp || !deps.bearer.clients.includes(verified.azp)) {
        throw new DomainError('UNAUTHENTICATED', 'This access token is not for this API');
      }
      await activeAccount(deps.directory, verified.sub);
      return verified;
    });
    const principal: Principal = { userId: String(claims.sub), roles: claims.realm_access?.roles ?? [] };
    ctx.state.principal = principal;
    await next();
  };
}

/**
 * Runs `fn` with the refresh token sent as the bearer credential (GET /auth/refresh, POST
 * /auth/logout); a missing or refused one answers 401 with the Bearer challenge.
 */
export async function withRefreshToken<T>(ctx: Context, fn: (refreshToken: string) => Promise<T>): Promise<T> {
  return challenging(ctx, () => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'Send the refresh token: Authorization: Bearer <refresh token>');
    return fn(token);
  });
}

// RFC 6750: a 401 names the scheme, with `invalid_token` when a token was sent but is not good.
async function challenging<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError && err.code === 'UNAUTHENTICATED') {
      ctx.set('WWW-Authenticate', `Bearer realm="bff"${ctx.get('authorization') ? ', error="invalid_token"' : ''}`);
    }
    throw err;
  }
}

export function principalOf(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: route without requireAccessToken');
  return principal;
}

export function requireRealmRole(role: string): Middleware {
  return async (ctx, next) => {
    if (!principalOf(ctx).roles.includes(role)) throw new DomainError('FORBIDDEN', `Only ${role} may do this`);
    await next();
  };
}
