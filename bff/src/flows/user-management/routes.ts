import Router from '@koa/router';
import type { Context } from 'koa';
import { accountOf, PLATFORM_ADMIN_ROLE, requireAccessToken, withRefreshToken, type AccessTokenSettings } from '../../http/bearer.ts';
import { preferredLanguage } from '../../http/pages.ts';
import { ERROR_TABLE } from '../../http/problem.ts';
import { parseInput } from '../../http/validation.ts';
import { isDomainError } from '../../kernel/errors.ts';
import { safeError } from '../../kernel/logger.ts';
import { refusedCredential } from '../../rate-limits/rate-limiter.ts';
import { sendConfirmationPage, wantsPage } from './pages.ts';
import { confirmQuery, idempotencyKey, loginBody, profileUpdateBody, registerBody, sendBody, userListQuery } from './schemas.ts';
import * as uc from './use-cases.ts';

/** Where the confirmation page sends people to sign in: the portal the BFF serves. */
const SIGN_IN_PAGE = '/portal/';

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

/**
 * The seed's routes under /api/v1 (bff/openapi.yaml, "user-management"). Handlers validate, call one
 * use case, answer; `deps` is only read when a request arrives.
 */
export function userManagementRouter(deps: uc.UserManagementDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  // A person's token of one of the API's clients, of an account still enabled; the user list also needs the admin role.
  const userToken = (): AccessTokenSettings => ({
    tokens: deps.accessTokens,
    directory: deps.directory,
    audience: deps.bearer.audience,
    clients: deps.bearer.clients,
  });
  const authenticated = requireAccessToken(userToken);
  const admin = requireAccessToken(() => ({ ...userToken(), role: PLATFORM_ADMIN_ROLE }));

  // The same answer whether or not the address has an account (decision 0019): what differs happens
  // after the answer, by mail to the address.
  router.post('/auth/register', async (ctx) => {
    const input = parseInput(registerBody, body(ctx));
    const header = ctx.get('idempotency-key');
    const key = header ? parseInput(idempotencyKey, header, { where: 'header.Idempotency-Key' }) : undefined;
    await deps.limits.limiter.take({ ip: ctx.ip, identifier: input.email }, ...deps.limits.register);
    await uc.register(deps, { input, idempotencyKey: key, language: preferredLanguage(ctx), logger: ctx.state.logger ?? deps.logger });
    ctx.status = 202;
    ctx.body = { status: 'accepted' };
  });

  // Links that are not valid count against the client's IP; a good one uses nothing up.
  const confirm = (ctx: Context, token: string) =>
    deps.limits.limiter.attempt({ ip: ctx.ip }, deps.limits.confirm, () => uc.confirmEmail(deps, token), { error: isInvalidLink });

  router.get('/auth/confirm', async (ctx) => {
    if (!wantsPage(ctx)) {
      const { token } = parseInput(confirmQuery, ctx.query, { where: 'query' });
      await confirm(ctx, token);
      ctx.body = { status: 'confirmed' };
      return;
    }
    // A person who clicked the mail's link: the same outcome and status, as a page.
    try {
      const { token } = parseInput(confirmQuery, ctx.query, { where: 'query' });
      await confirm(ctx, token);
      sendConfirmationPage(ctx, 'confirmed', SIGN_IN_PAGE);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      const { status } = ERROR_TABLE[err.code];
      if (status >= 500) ctx.state.logger?.error({ err: safeError(err), errorCode: err.code }, 'request failed');
      const limited = err.code === 'RATE_LIMITED';
      sendConfirmationPage(ctx, status >= 500 || limited ? 'unavailable' : 'invalid', SIGN_IN_PAGE);
      ctx.status = status;
      if (limited) ctx.set('Retry-After', String(err.details.retryAfterSeconds));
    }
  });

  router.post('/auth/send', async (ctx) => {
    const { email } = parseInput(sendBody, body(ctx));
    await uc.resendConfirmation(deps, email, ctx.ip);
    ctx.status = 202;
    ctx.body = { status: 'accepted' };
  });

  // Refused passwords count per client IP and per email from that IP; a right one uses nothing up.
  router.post('/auth/login', async (ctx) => {
    const input = parseInput(loginBody, body(ctx));
    ctx.body = await deps.limits.limiter.attempt({ ip: ctx.ip, identifier: input.email }, deps.limits.login, () => uc.login(deps, input), refusedCredential);
  });

  router.get('/auth/refresh', async (ctx) => {
    ctx.body = await withRefreshToken(ctx, deps.bearer.audience, (token) =>
      deps.limits.limiter.attempt({ ip: ctx.ip }, deps.limits.refresh, () => uc.refresh(deps, token), refusedCredential),
    );
  });

  router.post('/auth/logout', async (ctx) => {
    await withRefreshToken(ctx, deps.bearer.audience, (token) =>
      deps.limits.limiter.attempt({ ip: ctx.ip }, deps.limits.refresh, () => uc.logout(deps, token), refusedCredential),
    );
    ctx.status = 204;
  });

  router.get('/user', authenticated, async (ctx) => {
    ctx.body = await uc.getProfile(deps, accountOf(ctx).id);
  });

  router.put('/user', authenticated, async (ctx) => {
    const input = parseInput(profileUpdateBody(deps.defaultPhoneCountry), body(ctx));
    ctx.body = await uc.updateProfile(deps, accountOf(ctx).id, input);
  });

  router.delete('/user', authenticated, async (ctx) => {
    await uc.deleteAccount(deps, accountOf(ctx).id);
    ctx.status = 204;
  });

  router.get('/users', admin, async (ctx) => {
    ctx.body = await uc.listUsers(deps, parseInput(userListQuery, ctx.query, { where: 'query' }));
  });

  return router;
}

const isInvalidLink = (err: unknown) => isDomainError(err) && err.code === 'VALIDATION_FAILED' && err.fields.some((f) => f.reason === 'invalid_or_expired');
