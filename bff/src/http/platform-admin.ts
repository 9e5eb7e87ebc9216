import type { Context, Next } from 'koa';
import { bearerToken, type AccessTokenVerifier } from '../adapters/keycloak/access-token-verifier.ts';
import { DomainError } from '../kernel/errors.ts';

export const PLATFORM_ADMIN_ROLE = 'platform-admin';

/** Bearer access token of the platform realm with the realm role `platform-admin` (the admin APIs of partners and members). */
export function requirePlatformAdmin(deps: { verifier: AccessTokenVerifier; audience: string }) {
  return async (ctx: Context, next: Next) => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'A bearer access token is required');
    const claims = await deps.verifier.verify(token, { audience: deps.audience });
    if (!claims.realm_access?.roles?.includes(PLATFORM_ADMIN_ROLE)) {
      throw new DomainError('FORBIDDEN', `The realm role ${PLATFORM_ADMIN_ROLE} is required`);
    }
    await next();
  };
}
