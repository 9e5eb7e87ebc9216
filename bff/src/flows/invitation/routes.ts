import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { passwordIssue, PASSWORD_MAX_LENGTH } from '../../accounts/password-rules.ts';
import { personName } from '../../accounts/person-name.ts';
import { USERNAME_PATTERN } from '../../accounts/username.ts';
import { type AccessTokenDeps, accountOf, requireAccessToken } from '../../http/bearer.ts';
import { pageLanguage, sendPage } from '../../http/pages.ts';
import { ERROR_TABLE } from '../../http/problem.ts';
import type { Asset } from '../../http/static-assets.ts';
import { parseInput } from '../../http/validation.ts';
import { type InvitationAcceptance, isLinkProblem, type LinkProblem } from '../../invitations/invitations.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { Language } from '../../kernel/languages.ts';
import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { type FormError, isFormError, renderDead, renderDone, renderInvitation, renderNewAccount } from './pages.ts';

export const invitationAssets: Record<string, Asset> = {
  'invitation.js': { file: new URL('./pages/invitation.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  'invitation.css': { file: new URL('./pages/invitation.css', import.meta.url), type: 'text/css; charset=utf-8' },
};

export interface InvitationRouteDeps {
  invitations: InvitationAcceptance;
  limiter: RateLimiter;
  /** Every accept (a new account, or a signed-in account's, right or wrong) from one client IP. */
  acceptsPerIp: Limit;
}

const newAccountBody = z.strictObject({
  firstName: personName({ required: 'Enter your first name' }),
  lastName: personName().optional(),
  username: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => USERNAME_PATTERN.test(v), {
      error: '3 or more of a-z, 0-9, ".", "_", "-", "@", starting with a letter or digit',
      params: { reason: 'invalid_format' },
    })
    .optional(),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

/**
 * The invitation link's pages and the new-account form's endpoint (issue 18, decision 0034). An
 * existing account signs in on Keycloak's page through the portal, which accepts with
 * `POST /api/v1/invitations/accept` (below). The token is in the path: the access log names the route
 * template only (http/request-context.ts), and no page sends a Referer (security-headers.ts). The
 * form's answer, also a refusal's (problem+json), carries `location`: the page the browser goes to next.
 */
export function invitationRouter(deps: InvitationRouteDeps): Router {
  const router = new Router({ prefix: '/invitations' });
  const tokenOf = (ctx: Context) => String((ctx.params as Record<string, string>).token);
  const errorOf = (ctx: Context): FormError | undefined => (isFormError(ctx.query.error) ? ctx.query.error : undefined);
  const here = (token: string, lang: Language, path = '', error?: FormError) =>
    `/invitations/${encodeURIComponent(token)}${path}?${new URLSearchParams({ lang, ...(error ? { error } : {}) }).toString()}`;

  /** A page of a live link, or the dead-link page (404, the same for unknown and expired links). */
  const linkPage = (path: string, render: (ctx: Context, link: Awaited<ReturnType<InvitationAcceptance['open']>>, token: string, lang: Language) => string) =>
    router.get(path, async (ctx) => {
      const lang = pageLanguage(ctx);
      const token = tokenOf(ctx);
      const { problem, link } = await deps.invitations.describe(token);
      if (problem || !link) return dead(ctx, problem ?? 'unknown', lang);
      sendPage(ctx, render(ctx, link, token, lang));
    });

  linkPage('/:token', (_ctx, link, token, lang) => renderInvitation(link, token, lang));
  linkPage('/:token/new', (ctx, link, token, lang) => renderNewAccount(link, token, lang, errorOf(ctx)));

  // The accepted link's own page: only once it is used (what it says is the holder's to know).
  router.get('/:token/done', async (ctx) => {
    const lang = pageLanguage(ctx);
    const token = tokenOf(ctx);
    const { problem, link } = await deps.invitations.describe(token);
    if (problem !== 'used' || !link) return dead(ctx, problem ?? 'unknown', lang);
    sendPage(ctx, renderDone(link, token, lang));
  });

  router.post('/:token/account', async (ctx) => {
    const lang = pageLanguage(ctx);
    const token = tokenOf(ctx);
    await answering(ctx, token, lang, '/new', async () => {
      await deps.limiter.take({ ip: ctx.ip }, deps.acceptsPerIp);
      const body = parseInput(newAccountBody, ctx.request.body);
      const link = await deps.invitations.open(token);
      const issue = passwordIssue(body.password, link.kind === 'email' ? link.identifier : undefined);
      if (issue) throw new DomainError('VALIDATION_FAILED', 'The password does not meet the rules', { fields: [issue] });
      await deps.invitations.acceptAsNew(token, {
        firstName: body.firstName,
        ...(body.lastName ? { lastName: body.lastName } : {}),
        ...(body.username ? { username: body.username } : {}),
        password: body.password,
      });
      ctx.status = 201;
      return here(token, lang, '/done');
    });
  });

  /** Runs a form's work: `{ location }` of the next page, or the refusal with the page that says it. */
  async function answering(ctx: Context, token: string, lang: Language, form: string, work: () => Promise<string>): Promise<void> {
    try {
      ctx.body = { location: await work() };
    } catch (err) {
      if (!isDomainError(err)) throw err;
      if (ERROR_TABLE[err.code].status >= 500) throw err;
      const location = isLinkProblem(err) ? here(token, lang) : here(token, lang, form, formErrorOf(err));
      throw new DomainError(err.code, err.message, { fields: err.fields, details: { ...err.details, location }, cause: err });
    }
  }

  return router;
}

function dead(ctx: Context, problem: LinkProblem, lang: Language): void {
  ctx.status = problem === 'unknown' || problem === 'expired' ? 404 : 410;
  sendPage(ctx, renderDead(problem, lang));
}

function formErrorOf(err: DomainError): FormError {
  const fields = err.fields.map((f) => f.field);
  switch (err.code) {
    case 'RATE_LIMITED':
      return 'rate-limited';
    case 'ACCOUNT_EXISTS':
    case 'CONFLICT':
      if (fields.includes('username')) return 'username-taken';
      if (err.details.reason === 'creation_in_progress') return 'busy';
      return 'account-exists';
    case 'VALIDATION_FAILED':
      if (fields.includes('password')) return 'password';
      if (fields.includes('username')) return 'username';
      if (fields.some((f) => f === 'firstName' || f === 'lastName')) return 'name';
      return 'unavailable';
    default:
      return 'unavailable';
  }
}

/**
 * `POST /api/v1/invitations/accept`: the portal accepts an invitation for the person signed in to it
 * (on Keycloak's page: password, Google, the state, a second factor) with their access token and the
 * link's token. The account must hold the invited identifier verified, else 403 `wrong_account` with
 * the masked identifier. Only the first-party clients' tokens (`clients`, the user API's): a partner's
 * token, server or userToken, never accepts for a user. Rate-limited per IP with the new-account form.
 */
export function invitationApiRouter(
  deps: Pick<InvitationRouteDeps, 'invitations' | 'limiter' | 'acceptsPerIp'> & AccessTokenDeps & { clients: readonly string[] },
): Router {
  const router = new Router();
  router.use(
    '/api/v1/invitations',
    requireAccessToken(() => ({ tokens: deps.accessTokens, audience: deps.audience, clients: deps.clients, directory: deps.directory })),
  );
  router.post('/api/v1/invitations/accept', async (ctx) => {
    await deps.limiter.take({ ip: ctx.ip }, deps.acceptsPerIp);
    const { token } = parseInput(z.strictObject({ token: z.string().min(1).max(64) }), ctx.request.body);
    const link = await deps.invitations.open(token);
    ctx.body = { ...(await deps.invitations.acceptAsSignedIn(token, accountOf(ctx).id)), tenant: link.tenant, tenantNames: link.tenantNames };
  });
  return router;
}
