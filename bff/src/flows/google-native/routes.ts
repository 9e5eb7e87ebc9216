import Router from '@koa/router';
import type { Context } from 'koa';
import { parseGoogleTokenBody } from './schemas.ts';
import { type GoogleNativeDeps, signInWithGoogle } from './use-cases.ts';

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

/**
 * `POST /api/v1/google/token`: a native app's Google id_token for Keycloak tokens of the linked (or
 * new) account (bff/openapi.yaml, tag google-native). Public like the sign-up API; limited per client
 * IP. Logs carry the outcome, never the token, the e-mail or the Google subject.
 */
export function googleNativeRouter(deps: GoogleNativeDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  router.post('/google/token', async (ctx) => {
    const { idToken } = parseGoogleTokenBody(body(ctx));
    const result = await signInWithGoogle(deps, idToken, ctx.ip);
    ctx.state.logger?.info({ created: result.created, userId: result.userId }, 'native Google sign-in');
    ctx.status = result.created ? 201 : 200;
    const { accessToken, tokenType, expiresIn, idToken: keycloakIdToken, scope } = result.tokens;
    ctx.body = { created: result.created, userId: result.userId, accessToken, tokenType, expiresIn, idToken: keycloakIdToken ?? null, scope: scope ?? null };
  });
  return router;
}
