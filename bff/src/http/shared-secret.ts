import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { DomainError } from '../kernel/errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Guards the `/internal/v1/keycloak/*` endpoints that Keycloak's providers call with the shared secret
 * (KEYCLOAK_CALLBACK_SECRET) as a bearer token. Compares digests, so neither the length nor the
 * content of the secret leaks through timing. Anything else: 401 UNAUTHENTICATED, nothing done.
 */
export function requireSharedSecret(secret: string) {
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
