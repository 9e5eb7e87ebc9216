import Router from '@koa/router';
import type { Context } from 'koa';
import { accountOf, requireAccessToken, type AccessTokenSettings } from '../../http/bearer.ts';
import { parseInput } from '../../http/validation.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { AccessTokens } from '../../ports/access-tokens.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { MAX_PASSWORD_TRIES } from './account-merge.machine.ts';
import { emptyBody, flowParams, passwordBody } from './schemas.ts';
import type { AccountMergeService, AccountMergeView } from './service.ts';
import { mergeJson } from './view.ts';

export interface AccountMergeRouteDeps {
  service: AccountMergeService;
  accessTokens: AccessTokens;
  directory: Pick<IdentityDirectory, 'getUser'>;
  bearer: { audience: string; clients: readonly string[] };
  /** Refused passwords per client IP (shared with the API login and the claim) and per signed-in account. */
  passwordLimits: { limiter: RateLimiter; limits: Limit[] };
}

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

/** A refused proof as problem+json; the flow (its tries) was saved before. Nothing of the accounts changed. */
function proofRefusal(view: AccountMergeView): DomainError | null {
  const c = view.snapshot.context;
  const details = { state: view.state, triesLeft: Math.max(0, MAX_PASSWORD_TRIES - c.passwordTries) };
  if (view.snapshot.matches('locked')) {
    return new DomainError('CONFLICT', 'Too many wrong passwords for this merge; start again later', {
      details: { ...details, reason: 'password_tries_exhausted' },
    });
  }
  switch (c.error) {
    case 'password-wrong':
      return new DomainError('VALIDATION_FAILED', 'The login or the password is not right', {
        fields: [{ field: 'password', reason: 'wrong_credentials', message: 'The login or the password is not right' }],
        details,
      });
    case 'code-required':
      return new DomainError('VALIDATION_FAILED', "That account needs its authenticator app's code", {
        fields: [{ field: 'otp', reason: 'required', message: "The authenticator app's code is required for that account" }],
        details,
      });
    case 'same-account':
      return new DomainError('CONFLICT', 'That is the account you are signed in with', { details: { ...details, reason: 'same_account' } });
    case 'already-merged':
      return new DomainError('CONFLICT', 'That account was merged into this one already', { details: { ...details, reason: 'already_merged' } });
    case 'unavailable':
      return new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'The check could not be made; try again');
    default:
      return null;
  }
}

/** A merge that stopped at a step: a refusal (409, e.g. the account was merged meanwhile) or a dependency down (503; resume). */
function stepFailure(view: AccountMergeView): DomainError | null {
  const c = view.snapshot.context;
  if (!view.snapshot.matches('interrupted')) return null;
  if (c.failure === 'CONFLICT' || c.failure === 'NOT_FOUND') {
    return new DomainError('CONFLICT', 'The merge cannot go on', { details: { state: view.state, failedStep: c.failedStep, reason: 'merge_refused' } });
  }
  return new DomainError('DEPENDENCY_UNAVAILABLE', 'The merge stopped at a step; resume it', { details: { state: view.state, failedStep: c.failedStep } });
}

/**
 * `/api/v1/account-merges` (bff/openapi.yaml, "account-merge"): a signed-in person's token (the API's
 * clients, an enabled account); each route validates, calls one service method, answers the merge.
 */
export function accountMergeRouter(deps: AccountMergeRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1/account-merges' });
  const settings = (): AccessTokenSettings => ({
    tokens: deps.accessTokens,
    directory: deps.directory,
    audience: deps.bearer.audience,
    clients: deps.bearer.clients,
  });
  router.use(requireAccessToken(settings));
  const me = (ctx: Context) => accountOf(ctx).id;
  const id = (ctx: Context) => parseInput(flowParams, ctx.params, { where: 'path' }).flowId;

  router.post('/', async (ctx) => {
    parseInput(emptyBody, body(ctx));
    const view = await deps.service.start(me(ctx));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/account-merges/${view.id}`);
    ctx.body = mergeJson(view);
  });

  router.get('/:flowId', async (ctx) => {
    ctx.body = mergeJson(await deps.service.get(me(ctx), id(ctx)));
  });

  router.post('/:flowId/password', async (ctx) => {
    const flowId = id(ctx);
    const input = parseInput(passwordBody, body(ctx));
    const userId = me(ctx);
    const view = await deps.passwordLimits.limiter.attempt(
      { ip: ctx.ip, identifier: userId },
      deps.passwordLimits.limits,
      () => deps.service.password(userId, flowId, { type: 'PASSWORD', login: input.login, password: input.password, otp: input.otp }),
      { result: (v) => v.snapshot.context.error === 'password-wrong' },
    );
    const refused = proofRefusal(view);
    if (refused) throw refused;
    ctx.body = mergeJson(view);
  });

  router.post('/:flowId/confirm', async (ctx) => {
    const flowId = id(ctx);
    parseInput(emptyBody, body(ctx));
    const view = await deps.service.confirm(me(ctx), flowId);
    const failed = stepFailure(view);
    if (failed) throw failed;
    ctx.body = mergeJson(view);
  });

  router.post('/:flowId/resume', async (ctx) => {
    const flowId = id(ctx);
    parseInput(emptyBody, body(ctx));
    const view = await deps.service.resume(me(ctx), flowId);
    const failed = stepFailure(view);
    if (failed) throw failed;
    ctx.body = mergeJson(view);
  });

  router.post('/:flowId/cancel', async (ctx) => {
    const flowId = id(ctx);
    parseInput(emptyBody, body(ctx));
    ctx.body = mergeJson(await deps.service.cancel(me(ctx), flowId));
  });

  return router;
}
