import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { pageLanguage, sendPage } from '../../http/pages.ts';
import { ERROR_TABLE } from '../../http/problem.ts';
import { parseInput } from '../../http/validation.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { Language } from '../../kernel/languages.ts';
import { refusalOf } from './link-verifier.ts';
import { codePage, refusedPage, type RefusedReason } from './pages.ts';
import type { StateLinkService, StateLinkView } from './service.ts';
import type { SessionTarget, StepError } from './state-link.machine.ts';

export interface StateLinkRouteDeps {
  service: StateLinkService;
  /** Keycloak's restart URL the continue page gets as `return`, read as the session the ticket is for (sign-up/return-url.ts). */
  sessionOf(returnUrl: unknown): SessionTarget | undefined;
  /** The portal: where a refused or dead sign-in leads. */
  portalUrl: string;
  /** Secure cookie when the BFF is served over HTTPS. */
  secureCookie: boolean;
  ttlSeconds: number;
}

/**
 * The flow's browser cookie: the flow id, so that Keycloak's redirect back to us (which carries only
 * its restart URL) finds the flow, and only in the browser that opened the link. HttpOnly, SameSite=Lax
 * (a top-level redirect from Keycloak carries it; another site's POST does not), path /state-link.
 */
export const FLOW_COOKIE = 'platform_state_link';

const codeBody = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') });
const emptyBody = z.strictObject({});

/** The HTTP status of a page for a refusal or an error step (the one problem table). */
const STEP_STATUS: Record<StepError, number> = {
  'code-invalid': ERROR_TABLE.VALIDATION_FAILED.status,
  'rate-limited': ERROR_TABLE.RATE_LIMITED.status,
  'delivery-failed': ERROR_TABLE.DELIVERY_FAILED.status,
  taken: ERROR_TABLE.ACCOUNT_EXISTS.status,
  unavailable: ERROR_TABLE.DEPENDENCY_UNAVAILABLE.status,
};
const STEP_CODE = {
  'code-invalid': 'VALIDATION_FAILED',
  'rate-limited': 'RATE_LIMITED',
  'delivery-failed': 'DELIVERY_FAILED',
  taken: 'ACCOUNT_EXISTS',
  unavailable: 'DEPENDENCY_UNAVAILABLE',
} as const satisfies Record<StepError, keyof typeof ERROR_TABLE>;

/**
 * `GET /state-link?token=` (the state portal's link), Keycloak's way back `GET /state-link/continue`,
 * the code page `GET /state-link/code` and its JSON steps `POST /state-link/code`, `POST /state-link/resend`.
 * Every refusal is a page in the person's language with the problem table's status, never a trace.
 */
export function stateLinkRouter(deps: StateLinkRouteDeps): Router {
  const router = new Router({ prefix: '/state-link' });
  const portal = (lang: Language) => `${deps.portalUrl}?lang=${lang}`;
  const refuse = (ctx: Context, lang: Language, reason: RefusedReason, status: number) => {
    ctx.status = status;
    ctx.set('Referrer-Policy', 'no-referrer');
    sendPage(ctx, refusedPage(lang, reason, portal(lang)));
  };
  const flowIdOf = (ctx: Context): string | undefined => {
    const id = ctx.cookies.get(FLOW_COOKIE);
    return id && /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  };
  /** The flow of this browser, or a "cannot continue" page (unknown, expired, outdated, another browser). */
  const load = async (ctx: Context, lang: Language, run: (flowId: string) => Promise<StateLinkView>): Promise<StateLinkView | undefined> => {
    const flowId = flowIdOf(ctx);
    if (!flowId) {
      refuse(ctx, lang, 'cannot-continue', ERROR_TABLE.NOT_FOUND.status);
      return undefined;
    }
    try {
      return await run(flowId);
    } catch (err) {
      if (isDomainError(err) && ['NOT_FOUND', 'FLOW_EXPIRED', 'FLOW_OUTDATED', 'CONFLICT'].includes(err.code)) {
        refuse(ctx, lang, 'cannot-continue', ERROR_TABLE[err.code].status);
        return undefined;
      }
      throw err;
    }
  };
  /** Where a flow at rest sends the browser: Keycloak (signed in), the code page, or a refusal page. */
  const show = (ctx: Context, lang: Language, view: StateLinkView) => {
    const c = view.snapshot.context;
    if (view.snapshot.matches('done') && c.continueUrl) {
      ctx.set('Referrer-Policy', 'no-referrer');
      return ctx.redirect(c.continueUrl);
    }
    if (view.snapshot.matches('codeSent')) {
      if (c.error) ctx.status = STEP_STATUS[c.error];
      return sendPage(
        ctx,
        codePage(lang, { phone: c.phone, error: c.error, retryAfterSeconds: c.retryAfterSeconds, languageHref: (l) => `/state-link/code?lang=${l}` }),
      );
    }
    if (view.snapshot.matches('refused')) return refuse(ctx, lang, c.refusal ?? 'closed', ERROR_TABLE.FORBIDDEN.status);
    if (view.snapshot.matches('failed')) return refuse(ctx, lang, 'unavailable', ERROR_TABLE.DEPENDENCY_UNAVAILABLE.status);
    return refuse(ctx, lang, 'cannot-continue', ERROR_TABLE.CONFLICT.status);
  };

  router.get('/', async (ctx) => {
    const lang = pageLanguage(ctx);
    let view: StateLinkView;
    try {
      view = await deps.service.start(ctx.query.token, lang);
    } catch (err) {
      const reason = refusalOf(err);
      if (!reason || !isDomainError(err)) throw err;
      ctx.state.logger?.info({ reason }, 'state link refused');
      return refuse(ctx, lang, reason, ERROR_TABLE[err.code].status);
    }
    const c = view.snapshot.context;
    ctx.state.logger?.info({ state: view.state }, 'state link accepted');
    if (view.snapshot.matches('claim') && c.identityProvider) {
      // A custodian account holds the phone: the claim (Flow 2), through the state's IdP as any state sign-in.
      return ctx.redirect(deps.service.authorizationUrl(lang, { identityProvider: c.identityProvider }));
    }
    if (!view.snapshot.matches('ready') && !view.snapshot.matches('needsCode')) return show(ctx, lang, view);
    ctx.cookies.set(FLOW_COOKIE, view.id, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/state-link',
      secure: deps.secureCookie,
      maxAge: deps.ttlSeconds * 1000,
      overwrite: true,
    });
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.redirect(deps.service.authorizationUrl(lang, { screen: 'state-link' }));
  });

  // Keycloak's way back (realm attribute platformStateLinkUrl): `return` is its restart URL of the session.
  router.get('/continue', async (ctx) => {
    const lang = pageLanguage(ctx);
    const target = deps.sessionOf(ctx.query.return);
    if (!target) return refuse(ctx, lang, 'cannot-continue', ERROR_TABLE.VALIDATION_FAILED.status);
    const view = await load(ctx, lang, (flowId) => deps.service.arrive(flowId, target, ctx.ip));
    if (!view) return;
    if (view.snapshot.matches('codeSent')) return ctx.redirect(`/state-link/code?lang=${lang}`);
    return show(ctx, lang, view);
  });

  router.get('/code', async (ctx) => {
    const lang = pageLanguage(ctx);
    const view = await load(ctx, lang, (flowId) => deps.service.get(flowId));
    if (view) show(ctx, lang, view);
  });

  /** A JSON step: `{ location }` (Keycloak once signed in, else the code page); refusals are problem+json with it too. */
  const step = (path: string, run: (ctx: Context, flowId: string) => Promise<StateLinkView>) =>
    router.post(path, async (ctx) => {
      const lang = pageLanguage(ctx);
      const page = `/state-link/code?lang=${lang}`;
      const flowId = flowIdOf(ctx);
      if (!flowId) throw new DomainError('NOT_FOUND', 'No sign-in from a state portal link in this browser', { details: { location: portal(lang) } });
      const view = await run(ctx, flowId);
      const c = view.snapshot.context;
      if (view.snapshot.matches('done') && c.continueUrl) {
        ctx.body = { location: c.continueUrl };
        return;
      }
      if (view.snapshot.matches('codeSent') && c.error) {
        throw new DomainError(STEP_CODE[c.error], `The step was refused: ${c.error}`, {
          ...(c.error === 'code-invalid' ? { fields: [{ field: 'code', reason: 'invalid', message: 'The code is wrong or has expired' }] } : {}),
          details: { location: page, ...(c.retryAfterSeconds ? { retryAfterSeconds: c.retryAfterSeconds } : {}) },
        });
      }
      ctx.body = { location: page };
    });
  step('/code', (ctx, flowId) => {
    const { code } = parseInput(codeBody, ctx.request.body);
    return deps.service.code(flowId, code, ctx.ip);
  });
  step('/resend', (ctx, flowId) => {
    parseInput(emptyBody, ctx.request.body ?? {});
    return deps.service.resend(flowId, ctx.ip);
  });
  return router;
}
