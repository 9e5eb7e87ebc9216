import Router from '@koa/router';
import type { Context } from 'koa';
import { identifierOf } from '../accounts/identifiers.ts';
import { preferredLanguage } from '../http/pages.ts';
import { parseInput } from '../http/validation.ts';
import type { OtpService } from './otp-service.ts';
import { sendCodeBody, verifyCodeBody } from './schemas.ts';

/**
 * The code routes: send a one-time code to an e-mail address or a phone number, and exchange it for a
 * verification proof that sign-up (`POST /api/v1/signup`) and user management (identifier changes)
 * take. Documented in bff/openapi.yaml (tag sign-up); the sign-up page and the portal call them.
 */
export interface OtpRouteDeps {
  otp: Pick<OtpService, 'send' | 'verify'>;
  /** ISO 3166 alpha-2 country of phone numbers typed without a country code. */
  defaultPhoneCountry: string;
}

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

export function otpRouter(deps: OtpRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1' });

  router.post('/otp', async (ctx) => {
    const input = parseInput(sendCodeBody(deps.defaultPhoneCountry), body(ctx));
    const identifier = identifierOf(input);
    const sent = await deps.otp.send({ identifier, purpose: input.purpose, ip: ctx.ip, language: input.language ?? preferredLanguage(ctx) });
    ctx.status = 202;
    ctx.body = { channel: identifier.kind === 'email' ? 'email' : 'sms', ...sent };
  });

  router.post('/otp/verify', async (ctx) => {
    const input = parseInput(verifyCodeBody(deps.defaultPhoneCountry), body(ctx));
    ctx.body = await deps.otp.verify({ identifier: identifierOf(input), purpose: input.purpose, code: input.code, ip: ctx.ip });
  });

  return router;
}
