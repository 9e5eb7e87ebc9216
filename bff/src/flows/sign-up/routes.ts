import Router from '@koa/router';
import type { Context } from 'koa';
import { requireSharedSecret } from '../../http/shared-secret.ts';
import { parseInput } from '../../http/validation.ts';
import type { KeycloakRealm } from './return-url.ts';
import { redeemTicketBody, signUpBody } from './schemas.ts';
import type { SignInTickets } from './sign-in-tickets.ts';
import { type CheckDeps, checkDetails, signUp, type SignUpDeps } from './use-cases.ts';

/**
 * `POST /api/v1/signup/check` (every problem with the details, before a code is sent),
 * `POST /api/v1/signup` (seed 002: create the account with the proof of its identifier) and
 * `GET /api/v1/user-types` (the realm's list the sign-up's `userType` is one of). The code and
 * the proof come from the code routes (otp/routes.ts). Documented in bff/openapi.yaml (tag sign-up);
 * the sign-up page (pages.ts) calls them all.
 */
export interface SignUpRouteDeps extends SignUpDeps, CheckDeps {
  keycloak: KeycloakRealm;
}

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

export function signUpApiRouter(deps: SignUpRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  const schema = signUpBody({ ...deps.keycloak, defaultPhoneCountry: deps.defaultPhoneCountry });

  router.post('/signup/check', async (ctx) => {
    ctx.body = await checkDetails(deps, body(ctx), ctx.ip);
  });

  // The realm's user types with their labels in every language: what `userType` takes here and in
  // `PUT /api/v1/user` (the portal lists them); public like the sign-up page that shows them.
  router.get('/user-types', async (ctx) => {
    ctx.body = { items: await deps.userTypes() };
  });

  router.post('/signup', async (ctx) => {
    const { created, account } = await signUp(deps, parseInput(schema, body(ctx)), ctx.ip);
    ctx.status = created ? 201 : 200;
    ctx.body = account;
  });

  return router;
}

/**
 * `POST /internal/v1/keycloak/sign-up/ticket`: Keycloak's sign-up continue endpoint redeems the ticket
 * the sign-up page gave the browser (issue 17 §3, decision 0027), with the shared secret
 * (KEYCLOAK_CALLBACK_SECRET) as a bearer token. 200 `{ userId }` once; 404 for a ticket that is
 * unknown, used, expired or for another tab, one answer for all.
 */
export function signInTicketRouter(deps: { tickets: Pick<SignInTickets, 'redeem'>; callbackSecret: string }): Router {
  const router = new Router({ prefix: '/internal/v1/keycloak' });
  router.post('/sign-up/ticket', requireSharedSecret(deps.callbackSecret), async (ctx) => {
    const { ticket, tabId } = parseInput(redeemTicketBody, body(ctx), { message: 'The sign-in ticket request is not valid' });
    ctx.body = await deps.tickets.redeem(ticket, tabId);
  });
  return router;
}
