import Router from '@koa/router';
import type { Context } from 'koa';
import { parseInput } from '../../http/validation.ts';
import { signUpBody } from './schemas.ts';
import { signUp, type SignUpDeps } from './use-cases.ts';

/**
 * `POST /api/v1/signup` (seed 002): create the account with the proof of its identifier. The code
 * and the proof come from the code routes (otp/routes.ts). Documented in bff/openapi.yaml (tag
 * sign-up); the sign-up page (pages.ts) calls them all.
 */
export interface SignUpRouteDeps extends SignUpDeps {
  /** ISO 3166 alpha-2 country of phone numbers typed without a country code. */
  defaultPhoneCountry: string;
}

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

export function signUpApiRouter(deps: SignUpRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1' });

  router.post('/signup', async (ctx) => {
    const { created, account } = await signUp(deps, parseInput(signUpBody(deps.defaultPhoneCountry), body(ctx)), ctx.ip);
    ctx.status = created ? 201 : 200;
    ctx.body = account;
  });

  return router;
}
