import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { DomainError } from '../../kernel/errors.ts';
import { decideBrokeredLogin, type BrokeredLoginDeps } from './brokered-login.ts';
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

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
function requireSharedSecret(secret: string) {
  const expected = digest(secret);
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer (.+)$/.exec(ctx.get('authorization'));
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new DomainError('UNAUTHENTICATED', 'This endpoint is for Keycloak and needs its shared secret');
    }
    await next();
  };
}
