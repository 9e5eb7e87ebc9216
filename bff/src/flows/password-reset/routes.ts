import Router from '@koa/router';
import type { Context } from 'koa';
import { requireSharedSecret } from '../../http/shared-secret.ts';
import { parseCodeRequest, parseVerifyRequest } from './schemas.ts';
import { type PasswordResetDeps, sendResetCode, verifyResetCode } from './use-cases.ts';

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

/**
 * `POST /internal/v1/keycloak/password-reset/code` and `.../verify`: called by Keycloak's
 * platform-reset-credential step only, with the shared secret (KEYCLOAK_CALLBACK_SECRET) as a bearer
 * token. `code` answers the same whether or not a code was sent; `verify` answers `verified`, or 400
 * with the tries left, or 429. Logs carry the outcome and the account id, never the login or the code.
 */
export function passwordResetRouter(deps: PasswordResetDeps & { callbackSecret: string }): Router {
  const router = new Router({ prefix: '/internal/v1/keycloak/password-reset' });
  router.post('/code', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    ctx.body = await sendResetCode(deps, parseCodeRequest(body(ctx)));
  });
  router.post('/verify', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    ctx.body = await verifyResetCode(deps, parseVerifyRequest(body(ctx)));
  });
  return router;
}
