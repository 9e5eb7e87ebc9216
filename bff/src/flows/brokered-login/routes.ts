import Router from '@koa/router';
import { requireSharedSecret } from '../../http/shared-secret.ts';
import { decideBrokeredLogin, type BrokeredLoginDeps } from './use-cases.ts';
import { parseBrokeredLoginRequest } from './schemas.ts';

/**
 * `POST /internal/v1/keycloak/brokered-login`: called by Keycloak only, with the shared secret
 * (KEYCLOAK_CALLBACK_SECRET) as a bearer token. In production it travels over TLS, and the
 * /internal/ paths are best not routed from the internet at all.
 */
export function brokeredLoginRouter(deps: BrokeredLoginDeps & { callbackSecret: string }): Router {
  const router = new Router({ prefix: '/internal/v1/keycloak' });
  router.post('/brokered-login', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    const request = parseBrokeredLoginRequest(ctx.request.body);
    const decision = await decideBrokeredLogin(deps, request);
    // No e-mail or ids: the stage, the provider and the outcome are enough to follow what happened.
    ctx.state.logger?.info({ stage: request.stage, identityProvider: request.identityProvider, ...decision }, 'brokered login decision');
    ctx.body = decision;
  });
  return router;
}
