import Router from '@koa/router';
import { accountOf, principalOf, requireAccessToken } from '../../http/bearer.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { AccessTokens } from '../../ports/access-tokens.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import { userForPartner } from './use-cases.ts';

export interface PartnerUserApiDeps {
  accessTokens: AccessTokens;
  directory: Pick<IdentityDirectory, 'getUser'>;
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
 * in `act.client_id`; the user must still be active and the partner still enabled.
 */
export function partnerUserApiRouter(deps: PartnerUserApiDeps): Router {
  const router = new Router({ prefix: '/api/partner/v1' });
  const userToken = requireAccessToken(() => ({
    tokens: deps.accessTokens,
    directory: deps.directory,
    audience: deps.audience,
    clients: [deps.userTokenClientId],
    actor: true,
    credential: 'a userToken',
  }));

  router.get('/user', userToken, async (ctx) => {
    ctx.body = await userForPartner(deps, accountOf(ctx), principalOf(ctx).actor!);
  });

  return router;
}
