import Router from '@koa/router';
import { bearerToken, type AccessTokenVerifier } from '../../adapters/keycloak/access-token-verifier.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';

export interface PartnerUserApiDeps {
  verifier: AccessTokenVerifier;
  directory: IdentityDirectory;
  partners: PartnerStore;
  /** `platform-partner-api`: the one audience of userTokens (client scope `partner-user`). */
  audience: string;
  /** The client that userTokens are issued to (`azp`). */
  userTokenClientId: string;
}

/**
 * The platform API a partner calls on a user's behalf with a userToken (seed 003: the super component
 * renders the credit overview from it). It takes userTokens only, and userTokens work nowhere else
 * (docs/tokens.md): audience `platform-partner-api`, issued to the userToken client, naming the partner
 * in `act.client_id`; the partner must still be enabled and the user still active.
 */
export function partnerUserApiRouter(deps: PartnerUserApiDeps): Router {
  const router = new Router({ prefix: '/api/partner/v1' });

  router.get('/user', async (ctx) => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    const refuse = (message: string) => {
      ctx.set('WWW-Authenticate', `Bearer realm="platform-partner-api"${token ? ', error="invalid_token"' : ''}`);
      return new DomainError('UNAUTHENTICATED', message);
    };
    if (!token) throw refuse('Send a userToken: Authorization: Bearer <userToken>');
    let claims;
    try {
      claims = await deps.verifier.verify(token, { audience: deps.audience });
    } catch (err) {
      if (err instanceof DomainError && err.code === 'UNAUTHENTICATED') throw refuse('The userToken is not valid');
      throw err;
    }
    const partnerClientId = (claims as { act?: { client_id?: unknown } }).act?.client_id;
    if (claims.azp !== deps.userTokenClientId || typeof partnerClientId !== 'string' || !claims.sub) throw refuse('Not a userToken');
    const partner = await deps.partners.getPartner(partnerClientId);
    if (!partner?.enabled) throw new DomainError('FORBIDDEN', 'The partner of this userToken is not enabled');
    const user = await deps.directory.getUser(claims.sub);
    if (!user?.enabled) throw refuse('The user of this userToken is not active');
    ctx.body = {
      userId: user.id,
      username: user.username,
      ...(user.firstName ? { firstName: user.firstName } : {}),
      ...(user.lastName ? { lastName: user.lastName } : {}),
      partner: { clientId: partnerClientId },
    };
  });

  return router;
}
