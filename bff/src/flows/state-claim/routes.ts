import Router from '@koa/router';
import type { Context } from 'koa';
import { parseEmail, parseIdentifier, parsePhone, type Identifier } from '../../accounts/identifiers.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import { isLanguage, type Language } from '../../kernel/languages.ts';
import { pageLanguage, sendPage } from '../../http/pages.ts';
import { ERROR_TABLE } from '../../http/problem.ts';
import { PLATFORM_ADMIN_ROLE, requireAccessToken, type AccessTokenDeps } from '../../http/bearer.ts';
import { requireSharedSecret } from '../../http/shared-secret.ts';
import type { Asset } from '../../http/static-assets.ts';
import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { parseInput } from '../../http/validation.ts';
import type { StateClaimAudit } from './audit.ts';
import type { IdentifierSeal } from './actors.ts';
import { renderFinished, renderGone, renderStep } from './pages.ts';
import { answerBody, auditQuery, codeBody, completeBody, emptyBody, identifierBody, newPasswordBody, passwordBody, startBody } from './schemas.ts';
import type { StateClaimService, StateClaimView } from './service.ts';
import type { StateClaimEvent } from './state-claim.machine.ts';

export const stateClaimAssets: Record<string, Asset> = {
  'state-claim.js': { file: new URL('./pages/state-claim.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  'state-claim.css': { file: new URL('./pages/state-claim.css', import.meta.url), type: 'text/css; charset=utf-8' },
};

export interface StateClaimRouteDeps extends AccessTokenDeps {
  service: StateClaimService;
  audit: StateClaimAudit;
  seal: IdentifierSeal;
  callbackSecret: string;
  publicUrl: string;
  /** Where "Start again" leads from a claim link that is unknown or expired: a page that signs in. */
  signInUrl: string;
  defaultPhoneCountry: string;
  /** Refused passwords per client IP, shared with the API login (rate-limits/rate-limiter.ts). */
  passwordLimits: { limiter: RateLimiter; limits: Limit[] };
}

/** An identifier as the IdP asserted it, normalised; an unparseable one counts as absent (then OTP). */
function asserted(email: string | null, phone: string | null, country: string): Identifier | null {
  const e = email ? parseEmail(email) : null;
  if (e) return { kind: 'email', value: e };
  const e164 = phone ? parsePhone(phone, country) : null;
  return e164 ? { kind: 'phone', value: e164 } : null;
}

/** Keycloak's locale of the login (a BCP 47 tag, e.g. `hi`, `en-GB`) as one of our languages, if it is one. */
function languageOfLocale(locale: string | null): Language | null {
  const primary = locale?.toLowerCase().split(/[-_]/)[0];
  return isLanguage(primary) ? primary : null;
}

export function stateClaimRouters(deps: StateClaimRouteDeps): Router[] {
  // ---- Keycloak (platform-state-claim authenticator), shared secret
  const internal = new Router({ prefix: '/internal/v1/keycloak/state-claim' });
  internal.use(requireSharedSecret(deps.callbackSecret));
  internal.post('/', async (ctx) => {
    const b = parseInput(startBody, ctx.request.body, { message: 'The state-claim request is not valid' });
    const lang = languageOfLocale(b.locale);
    const view = await deps.service.start({
      identity: {
        identityProvider: b.identityProvider,
        brokeredUserId: b.brokeredUserId,
        brokeredUsername: b.brokeredUsername,
        firstName: b.firstName,
        lastName: b.lastName,
        stateUserId: b.stateUserId,
      },
      loginSession: b.loginSession,
      identifier: asserted(b.email, b.phone, deps.defaultPhoneCountry),
      otherIdentifier: b.email && b.phone ? asserted(null, b.phone, deps.defaultPhoneCountry) : null,
      returnUrl: b.returnUrl,
      language: lang,
    });
    ctx.status = 201;
    // The language chosen at Keycloak (issue 17 §5) goes with the browser; without it, Accept-Language decides.
    ctx.body = { flowId: view.id, redirectUrl: `${deps.publicUrl.replace(/\/$/, '')}/state-claim/${view.id}${lang ? `?lang=${lang}` : ''}` };
  });
  internal.post('/:flowId/complete', async (ctx) => {
    const b = parseInput(completeBody, ctx.request.body, { message: 'The state-claim completion is not valid' });
    const result = await deps.service.complete(ctx.params.flowId!, {
      handoffId: b.handoffId,
      loginSession: b.loginSession,
      identityProvider: b.identityProvider,
      brokeredUserId: b.brokeredUserId,
    });
    ctx.state.logger?.info({ outcome: result.outcome, created: result.created }, 'state claim completed');
    ctx.body = result;
  });

  // ---- the person's pages
  const pages = new Router({ prefix: '/state-claim' });
  pages.get('/:flowId', async (ctx) => {
    const lang = pageLanguage(ctx);
    let view: StateClaimView;
    try {
      view = await deps.service.get(ctx.params.flowId!);
    } catch (err) {
      if (isDomainError(err) && ['NOT_FOUND', 'FLOW_EXPIRED', 'FLOW_OUTDATED'].includes(err.code)) {
        // A page, not problem+json, but with the table's status (404, 410).
        ctx.status = ERROR_TABLE[err.code].status;
        sendPage(ctx, renderGone(lang, signInUrl(lang)));
        return;
      }
      throw err;
    }
    const error = typeof ctx.query.error === 'string' && /^[a-z-]{1,32}$/.test(ctx.query.error) ? ctx.query.error : undefined;
    const retry = typeof ctx.query.retry === 'string' && /^\d{1,5}$/.test(ctx.query.retry) ? Number(ctx.query.retry) : undefined;
    if (view.snapshot.matches('decided')) {
      // Nothing was asked (e.g. no matching account): straight back to Keycloak with a fresh handoff.
      ctx.redirect(await continueUrlOf(view));
      return;
    }
    if (view.snapshot.matches('finished')) {
      // What was done, in plain words, and one way on: back to Keycloak with a fresh handoff.
      sendPage(ctx, renderFinished(view, lang, await continueUrlOf(view)));
      return;
    }
    sendPage(ctx, renderStep(view, lang, { ...(error ? { error } : {}), ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) }));
  });

  /**
   * A step from a page: answers where the browser goes next (the page again, or back to Keycloak).
   * A refusal leaves through the one problem table (http/problem.ts, problem+json with its stable
   * code and status) and carries that `location` too: the step's page with its message. A 5xx carries
   * none (only its retry hint survives); the page's script then shows "try again" where it is.
   */
  const step = (name: string, toEvent: (ctx: Context, language: Language) => Exclude<StateClaimEvent, { type: 'COMPLETE' }>) =>
    pages.post(`/:flowId/${name}`, async (ctx) => {
      const flowId = ctx.params.flowId!;
      const lang = pageLanguage(ctx);
      const page = (error?: string, retry?: number) =>
        `/state-claim/${encodeURIComponent(flowId)}?${new URLSearchParams({ lang, ...(error ? { error } : {}), ...(retry ? { retry: String(retry) } : {}) }).toString()}`;
      try {
        // Bad input throws VALIDATION_FAILED naming the fields here, before anything ran.
        const event = toEvent(ctx, lang);
        // Wrong passwords (and app codes) count against the client's IP, with the API login's (decision 0019); a right one uses nothing up.
        const view =
          event.type === 'PASSWORD' || event.type === 'NEW_PASSWORD'
            ? await deps.passwordLimits.limiter.attempt({ ip: ctx.ip }, deps.passwordLimits.limits, () => deps.service.step(flowId, event), {
                result: (v) => v.snapshot.context.error === 'password-wrong' || v.snapshot.context.error === 'recovered-code-wrong',
              })
            : await deps.service.step(flowId, event);
        ctx.body = { location: view.snapshot.matches('decided') ? await continueUrlOf(view) : page() };
      } catch (err) {
        if (!isDomainError(err)) throw err;
        const retry = err.code === 'RATE_LIMITED' ? Number(err.details.retryAfterSeconds) || undefined : undefined;
        throw withLocation(err, page(pageErrorOf(name, err), retry));
      }
    });

  const signInUrl = (lang: Language) => {
    const url = new URL(deps.signInUrl);
    url.searchParams.set('lang', lang);
    return url.href;
  };

  const continueUrlOf = async (view: StateClaimView): Promise<string> => {
    const url = new URL(view.snapshot.context.returnUrl);
    url.searchParams.set('handoff', await deps.service.issueHandoff(view));
    return url.href;
  };

  /** A step without input: its body must be empty. */
  const bare = (ctx: Context) => parseInput(emptyBody, ctx.request.body ?? {});
  step('identifier', (ctx, language) => {
    const { identifier } = parseInput(identifierBody(deps.defaultPhoneCountry), ctx.request.body);
    return { type: 'IDENTIFIER', identifier: deps.seal.seal(identifier), ip: ctx.ip, language };
  });
  // The code of either purpose: the state the flow rests in says which (identifier or recovery).
  step('code', (ctx) => ({ type: 'CODE', code: parseInput(codeBody, ctx.request.body).code, ip: ctx.ip }));
  step('resend', (ctx, language) => {
    bare(ctx);
    return { type: 'RESEND', ip: ctx.ip, language };
  });
  step('change', (ctx) => {
    bare(ctx);
    return { type: 'CHANGE_IDENTIFIER' };
  });
  step('continue', (ctx, language) => {
    bare(ctx);
    return { type: 'CONTINUE', language };
  });
  step('answer', (ctx) => ({ type: parseInput(answerBody, ctx.request.body).answer === 'mine' ? 'MINE' : 'NOT_MINE' }));
  step('password', (ctx) => {
    const { password, otp } = parseInput(passwordBody, ctx.request.body);
    return { type: 'PASSWORD', password, otp: otp ?? null };
  });
  // Decision 0030: the confirmation before an account is closed, "Forgot password?", and a retry.
  step('confirm', (ctx, language) => {
    bare(ctx);
    return { type: 'CONFIRM', language };
  });
  step('back', (ctx) => {
    bare(ctx);
    return { type: 'BACK' };
  });
  step('forgot', (ctx, language) => {
    bare(ctx);
    return { type: 'FORGOT', ip: ctx.ip, language };
  });
  step('new-password', (ctx) => {
    const { password, otp } = parseInput(newPasswordBody, ctx.request.body);
    return { type: 'NEW_PASSWORD', password, otp: otp ?? null };
  });
  step('retry', (ctx) => {
    bare(ctx);
    return { type: 'RETRY' };
  });

  // ---- administrators: the audit trail
  const admin = new Router({ prefix: '/api/admin/v1/state-claims' });
  admin.use(requireAccessToken(() => ({ tokens: deps.accessTokens, directory: deps.directory, audience: deps.audience, role: PLATFORM_ADMIN_ROLE })));
  admin.get('/audit', async (ctx) => {
    const q = parseInput(auditQuery, ctx.query);
    const identifier = q.identifier ? parseIdentifier(q.identifier, deps.defaultPhoneCountry)?.value : undefined;
    const { items, total } = await deps.audit.query(
      {
        ...(q.flowId ? { flowId: q.flowId } : {}),
        ...(q.userId ? { userId: q.userId } : {}),
        ...(q.brokeredUserId ? { brokeredUserId: q.brokeredUserId } : {}),
        ...(q.event ? { event: q.event } : {}),
        ...(q.identifier ? { identifier: identifier ?? q.identifier } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
      },
      { first: q.first, max: q.max },
    );
    ctx.body = {
      total,
      first: q.first,
      items: items.map((r) => ({
        at: r.at.toISOString(),
        flowId: r.flowId,
        event: r.event,
        outcome: r.outcome,
        identityProvider: r.identityProvider,
        brokeredUserId: r.brokeredUserId,
        identifierMasked: r.identifierMasked,
        custodianUserId: r.custodianUserId,
        resultUserId: r.resultUserId,
        detail: r.detail,
      })),
    };
  });

  return [internal, pages, admin];
}

/** The message the step's page shows for a refusal (pages.ts), if any. */
function pageErrorOf(step: string, err: DomainError): string | undefined {
  switch (err.code) {
    case 'VALIDATION_FAILED':
      if (step === 'code') return 'code-invalid';
      if (step === 'identifier') return 'identifier';
      if ((step === 'password' || step === 'new-password') && err.fields.some((f) => f.field === 'otp')) return 'code-required';
      if (step === 'new-password' && err.fields.some((f) => f.field === 'password')) return 'password-policy';
      return 'unavailable';
    case 'FLOW_CONFLICT':
      // A double submit: this step is still being processed.
      return 'busy';
    case 'RATE_LIMITED':
      return 'rate-limited';
    case 'CONFLICT':
    case 'NOT_FOUND':
    case 'FLOW_EXPIRED':
    case 'FLOW_OUTDATED':
      // The flow moved on (another tab) or is gone: its page shows where it is now.
      return undefined;
    default:
      return 'unavailable';
  }
}

/** The same refusal, with the page the browser goes to next (a safe detail: the flow's own URL). */
function withLocation(err: DomainError, location: string): DomainError {
  return new DomainError(err.code, err.message, { fields: err.fields, details: { ...err.details, location }, cause: err });
}
