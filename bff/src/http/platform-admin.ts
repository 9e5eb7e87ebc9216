import type { Context, Next } from 'koa';
import { activeAccount } from '../accounts/active-account.ts';
import { bearerToken, type AccessTokenVerifier } from '../adapters/keycloak/access-token-verifier.ts';
import { DomainError } from '../kernel/errors.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';

export const PLATFORM_ADMIN_ROLE = 'platform-admin';

export interface PlatformAdminDeps {
  verifier: AccessTokenVerifier;
  /** Audience every admin token must carry (the BFF's client id). */
  audience: string;
  directory: Pick<IdentityDirectory, 'getUser'>;
}

/**
 * Bearer access token of the platform realm with the realm role `platform-admin` (the admin APIs of
 * partners, members and the claim audit), of an admin account (or service account) still enabled in
 * Keycloak: a disabled admin's unexpired token is 401.
 */
export function requirePlatformAdmin(deps: PlatformAdminDeps) {
  return async (ctx: Context, next: Next) => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'A bearer access token is required');
    const claims = await deps.verifier.verify(token, { audience: deps.audience });
    if (!claims.realm_access?.roles?.includes(PLATFORM_ADMIN_ROLE)) {
      throw new DomainError('FORBIDDEN', `The realm role ${PLATFORM_ADMIN_ROLE} is required`);
    }
    await activeAccount(deps.directory, String(claims.sub));
    await next();
  };
}
