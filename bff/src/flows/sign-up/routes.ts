import Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountService } from '../../accounts/account-service.ts';
import { identifierOf } from '../../accounts/identifiers.ts';
import { preferredLanguage } from '../../http/pages.ts';
import { parseInput } from '../../http/validation.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { OtpService } from '../../otp/otp-service.ts';
import type { SignUpLimits } from './limits.ts';
import { sendCodeBody, signUpBody, verifyCodeBody } from './schemas.ts';

/**
 * The self sign-up JSON API (seed 002): send a code, exchange it for a proof, create the account with
 * the proof. Documented in bff/openapi.yaml (tag sign-up); the sign-up page (pages.ts) calls it.
 */
export interface SignUpDeps {
  otp: Pick<OtpService, 'send' | 'verify' | 'check'>;
  accounts: Pick<AccountService, 'create'>;
  limits: SignUpLimits;
  /** ISO 3166 alpha-2 country of phone numbers typed without a country code. */
  defaultPhoneCountry: string;
}

const body = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;

export function signUpApiRouter(deps: SignUpDeps): Router {
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

  router.post('/signup', async (ctx) => {
    const input = parseInput(signUpBody(deps.defaultPhoneCountry), body(ctx));
    const identifier = identifierOf(input);
    await deps.limits.limiter.take({ ip: ctx.ip }, deps.limits.perIp);
    // Checked, not consumed: the proof is also the idempotency key, so the identical request repeated
    // after a failure half-way (or a lost answer) completes or replays the one account the proof made;
    // any other request with it is refused as a second use.
    await deps.otp.check(input.proof, identifier, 'sign-up', 'proof');
    await deps.limits.limiter.take({ ip: ctx.ip, identifier: `${identifier.kind}:${identifier.value}` }, deps.limits.perIdentifier);
    const verified = { emailVerified: identifier.kind === 'email', phoneVerified: identifier.kind === 'phone' };
    const account = await deps.accounts
      .create(
        {
          firstName: input.firstName,
          ...(input.email !== undefined ? { email: input.email } : {}),
          ...(input.phone !== undefined ? { phone: input.phone } : {}),
          ...verified,
          password: input.password,
          ...(input.username !== undefined ? { username: input.username } : {}),
          ...(input.channel !== undefined ? { channel: input.channel } : {}),
          ...(input.organisationId !== undefined ? { organisationId: input.organisationId } : {}),
          signUpType: 'self',
        },
        { idempotencyKey: `sign-up:${input.proof}` },
      )
      .catch((err: unknown) => {
        throw isDomainError(err) && err.details.reason === 'idempotency_key_reused' ? proofUsed() : err;
      });
    ctx.status = account.created ? 201 : 200;
    ctx.body = {
      userId: account.userId,
      username: account.username,
      ...(input.email !== undefined ? { email: input.email } : { phone: input.phone }),
      ...verified,
    };
  });

  return router;
}

function proofUsed(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'This verification was already used to create an account', {
    fields: [{ field: 'proof', reason: 'used', message: 'Verify your email address or phone number again' }],
  });
}
