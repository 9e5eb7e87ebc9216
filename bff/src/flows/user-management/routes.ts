import Router from '@koa/router';
import type { Context } from 'koa';
import { ERROR_TABLE } from '../../http/problem.ts';
import { parseInput } from '../../http/validation.ts';
import { isDomainError } from '../../kernel/errors.ts';
import { safeError } from '../../kernel/logger.ts';
import { sendConfirmationPage, wantsPage } from './confirmation-page.ts';
import { principalOf, requireAccessToken, requireRealmRole, withRefreshToken } from './bearer.ts';
import { confirmQuery, idempotencyKey, loginBody, profileUpdateBody, registerBody, sendBody, userListQuery } from './schemas.ts';
import * as uc from './use-cases.ts';

/** Where the confirmation page sends people to sign in: the portal the BFF serves. */
const SIGN_IN_PAGE = '/portal/';

/** The realm role that may list every user. */
export const ADMIN_ROLE = 'platform-admin';

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

/**
 * The seed's routes under /api/v1 (bff/openapi.yaml, "user-management"). Handlers validate, call one
 * use case, answer; `deps` is only read when a request arrives.
 */
export function userManagementRouter(deps: uc.UserManagementDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  const authenticated = requireAccessToken(deps);

  router.post('/auth/register', async (ctx) => {
    const input = parseInput(registerBody, body(ctx));
    const header = ctx.get('idempotency-key');
    const key = header ? parseInput(idempotencyKey, header, { where: 'header.Idempotency-Key' }) : undefined;
    ctx.status = 201;
    ctx.body = await uc.register(deps, input, key);
  });

  router.get('/auth/confirm', async (ctx) => {
    if (!wantsPage(ctx)) {
      const { token } = parseInput(confirmQuery, ctx.query, { where: 'query' });
      await uc.confirmEmail(deps, token);
      ctx.body = { status: 'confirmed' };
      return;
    }
    // A person who clicked the mail's link: the same outcome and status, as a page.
    try {
      const { token } = parseInput(confirmQuery, ctx.query, { where: 'query' });
      await uc.confirmEmail(deps, token);
      sendConfirmationPage(ctx, 'confirmed', SIGN_IN_PAGE);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      const { status } = ERROR_TABLE[err.code];
      if (status >= 500) ctx.state.logger?.error({ err: safeError(err), errorCode: err.code }, 'request failed');
      sendConfirmationPage(ctx, status >= 500 ? 'unavailable' : 'invalid', SIGN_IN_PAGE);
      ctx.status = status;
    }
  });

  router.post('/auth/send', async (ctx) => {
    const { email } = parseInput(sendBody, body(ctx));
    await uc.resendConfirmation(deps, email, ctx.ip);
    ctx.status = 202;
    ctx.body = { status: 'accepted' };
  });

  router.post('/auth/login', async (ctx) => {
    ctx.body = await uc.login(deps, parseInput(loginBody, body(ctx)));
  });

  router.get('/auth/refresh', async (ctx) => {
    ctx.body = await withRefreshToken(ctx, (token) => uc.refresh(deps, token));
  });

  router.post('/auth/logout', async (ctx) => {
    await withRefreshToken(ctx, (token) => uc.logout(deps, token));
    ctx.status = 204;
  });

  router.get('/user', authenticated, async (ctx) => {
    ctx.body = await uc.getProfile(deps, principalOf(ctx).userId);
  });

  router.put('/user', authenticated, async (ctx) => {
    const input = parseInput(profileUpdateBody(deps.defaultPhoneCountry), body(ctx));
    ctx.body = await uc.updateProfile(deps, principalOf(ctx).userId, input);
  });

  router.delete('/user', authenticated, async (ctx) => {
    await uc.deleteAccount(deps, principalOf(ctx).userId);
    ctx.status = 204;
  });

  router.get('/users', authenticated, requireRealmRole(ADMIN_ROLE), async (ctx) => {
    ctx.body = await uc.listUsers(deps, parseInput(userListQuery, ctx.query, { where: 'query' }));
  });

  return router;
}
