import Router from '@koa/router';
import type { Context } from 'koa';
import { principalOf, requireAccessToken } from '../../http/bearer.ts';
import { DomainError } from '../../kernel/errors.ts';
import { parseInput } from '../../http/validation.ts';
import type { AccessTokens } from '../../ports/access-tokens.ts';
import type { EnrollmentSnapshot, PartnerEnrollmentService } from './service.ts';
import type { IdempotencyKeys, StoredResponse } from './idempotency.ts';
import { IDEMPOTENCY_KEY, authRequestSchema, kbaAnswersSchema, startKbaSchema } from './schemas.ts';

export interface PartnerEnrollmentRouteDeps {
  service: PartnerEnrollmentService;
  idempotency: IdempotencyKeys;
  /** Verifies the partners' server tokens (audience `audience`, the BFF's client id). */
  accessTokens: AccessTokens;
  audience: string;
}

/**
 * The partner API (seed 003; SPEC Flow 3). Partner servers call the POST with their server token;
 * the super component calls the rest with the authToken alone (it is the credential).
 */
export function partnerEnrollmentRouter(deps: PartnerEnrollmentRouteDeps): Router {
  const router = new Router({ prefix: '/api/auth/v1' });
  const serverToken = requireAccessToken(() => ({ tokens: deps.accessTokens, audience: deps.audience, server: {}, credential: 'a server token' }));

  router.post('/', serverToken, async (ctx) => {
    const { clientId } = principalOf(ctx);
    const request = parseInput(authRequestSchema, ctx.request.body);
    const handle = async (): Promise<StoredResponse> => {
      const { enrolled, authToken, expiresAt } = await deps.service.authorize(clientId, request);
      // The contract's statuses: 200 for a DBP user enrolled already, 201 for a new enrollment.
      return { status: enrolled ? 200 : 201, body: { authToken, expiresAt: expiresAt.toISOString() } };
    };
    const key = ctx.get('idempotency-key');
    if (key !== '' && !IDEMPOTENCY_KEY.test(key)) {
      throw new DomainError('VALIDATION_FAILED', 'The Idempotency-Key is not valid', {
        fields: [{ field: 'Idempotency-Key', reason: 'invalid_format', message: 'expected 1-255 visible ASCII characters' }],
      });
    }
    const response = key === '' ? await handle() : await deps.idempotency.run(clientId, key, ctx.request.body, handle);
    ctx.status = response.status;
    ctx.body = response.body;
  });

  router.get('/:authToken', async (ctx) => {
    // An enrolled user's token is exchanged for a userToken; any other is only looked at.
    const current = await deps.service.step(ctx.params.authToken!, (flow) => (flow.matches('enrolled') ? { type: 'EXCHANGE' } : null));
    if (current.matches('done')) {
      userTokenResponse(ctx, current);
    } else if (current.matches('awaitingConsent')) {
      // Body first: Koa turns a null body into 204 unless the status is set after it.
      ctx.body = null;
      ctx.status = 203;
    } else if (current.matches('awaitingEnrollment') || current.matches('awaitingKbaAnswers')) {
      ctx.status = 202;
      ctx.body = { pii: deps.service.openPii(current) };
    } else {
      throw new DomainError('NOT_FOUND', 'Unknown or expired authToken');
    }
  });

  router.patch('/:authToken', async (ctx) => {
    userTokenResponse(ctx, await deps.service.send(ctx.params.authToken!, { type: 'CONSENT' }));
  });

  // The standard enrollment (autoEnroll off): the user confirms the prefilled PII, gets the upstream
  // core's KBA questions, answers them, and gets the userToken.
  router.post('/:authToken/kba', async (ctx) => {
    const authToken = ctx.params.authToken!;
    const { pii } = parseInput(startKbaSchema, ctx.request.body);
    // Limited per token and per partner, and audited (429 RATE_LIMITED beyond a limit).
    const after = await deps.service.startKba(authToken, pii);
    const startsLeft = after.context.kbaStartsLeft;
    if (after.context.problem === 'identity_not_verifiable' || !after.context.kba) {
      throw new DomainError('IDENTITY_NOT_VERIFIABLE', 'These details cannot be verified; check them and try again', {
        fields: [{ field: 'pii', reason: 'not_verifiable', message: 'No questions can be asked for these details' }],
        details: { startsLeft },
      });
    }
    ctx.body = { questions: after.context.kba.questions, attemptsLeft: after.context.kbaAttemptsLeft, startsLeft };
  });

  router.post('/:authToken/kba/answers', async (ctx) => {
    const authToken = ctx.params.authToken!;
    const { answers } = parseInput(kbaAnswersSchema, ctx.request.body);
    const after = await deps.service.send(authToken, { type: 'ANSWER_KBA', answers });
    if (after.context.problem === 'kba_failed') {
      const attemptsLeft = after.context.kbaAttemptsLeft;
      throw new DomainError(
        'KBA_FAILED',
        attemptsLeft > 0 ? `The answers are not right; ${attemptsLeft} tries left` : 'The answers are not right; no tries left, start again',
        {
          fields: [{ field: 'answers', reason: 'wrong', message: 'At least one answer is not right' }],
          details: { attemptsLeft },
        },
      );
    }
    userTokenResponse(ctx, after);
  });

  return router;
}

function userTokenResponse(ctx: Context, snapshot: EnrollmentSnapshot): void {
  const token = snapshot.context.userToken;
  if (!snapshot.matches('done') || !token) throw new DomainError('NOT_FOUND', 'Unknown or expired authToken');
  ctx.status = 200;
  ctx.body = { userToken: token.accessToken, expiresAt: token.expiresAt };
}
