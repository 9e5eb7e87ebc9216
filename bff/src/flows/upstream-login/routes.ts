import Router from '@koa/router';
import { requireSharedSecret } from '../../http/shared-secret.ts';
import { prepareReset, signIn, type UpstreamLoginDeps } from './use-cases.ts';
import { parseResetRequest, parseSignInRequest } from './schemas.ts';

/**
 * `POST /internal/v1/keycloak/upstream-login` and `.../upstream-reset`: called by Keycloak's
 * platform-upstream-password and platform-upstream-reset authenticators only, with the shared secret
 * (KEYCLOAK_CALLBACK_SECRET) as a bearer token. The answer names the Keycloak user to go on with, or
 * none. Logs carry the outcome, never the login or the password.
 */
export function upstreamLoginRouter(deps: UpstreamLoginDeps & { callbackSecret: string }): Router {
  const router = new Router({ prefix: '/internal/v1/keycloak' });
  router.post('/upstream-login', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    ctx.body = await signIn(deps, parseSignInRequest(ctx.request.body));
  });
  router.post('/upstream-reset', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    ctx.body = await prepareReset(deps, parseResetRequest(ctx.request.body).login);
  });
  return router;
}
