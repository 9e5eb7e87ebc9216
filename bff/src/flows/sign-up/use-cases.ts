import type { AccountService } from '../../accounts/account-service.ts';
import { identifierOf } from '../../accounts/identifiers.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { VerificationProofs } from '../../otp/verification-proofs.ts';
import type { SignUpLimits } from './limits.ts';
import type { SignUpInput } from './schemas.ts';

/**
 * Self sign-up (seed 002) as one use case: no flow spans requests here (the code and its proof are
 * the OTP service's), so no machine. The proof makes the account, in Keycloak, the upstream core and
 * the custodian tenant, all or nothing (AccountService).
 */
export interface SignUpDeps {
  proofs: Pick<VerificationProofs, 'check'>;
  accounts: Pick<AccountService, 'create'>;
  limits: SignUpLimits;
}

export interface SignedUp {
  /** false: the identical request again after a failure half-way or a lost answer (the same account). */
  created: boolean;
  account: { userId: string; username: string; email?: string; phone?: string; emailVerified: boolean; phoneVerified: boolean };
}

export async function signUp(deps: SignUpDeps, input: SignUpInput, ip: string): Promise<SignedUp> {
  const identifier = identifierOf(input);
  await deps.limits.limiter.take({ ip }, deps.limits.perIp);
  // Checked, not consumed: the proof is also the idempotency key, so the identical request repeated
  // after a failure half-way (or a lost answer) completes or replays the one account the proof made;
  // any other request with it is refused as a second use.
  await deps.proofs.check(input.proof, identifier, 'sign-up', 'proof');
  await deps.limits.limiter.take({ ip, identifier: `${identifier.kind}:${identifier.value}` }, deps.limits.perIdentifier);
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
  return {
    created: account.created,
    account: {
      userId: account.userId,
      username: account.username,
      ...(input.email !== undefined ? { email: input.email } : { phone: input.phone! }),
      ...verified,
    },
  };
}

function proofUsed(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'This verification was already used to create an account', {
    fields: [{ field: 'proof', reason: 'used', message: 'Verify your email address or phone number again' }],
  });
}
