import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountService } from '../../accounts/account-service.ts';
import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import { bindSeal } from '../../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import { ttlMillis, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { PartnerUserTokens } from '../../ports/partner-user-tokens.ts';
import type { EnrollInput } from './partner-enrollment.machine.ts';
import type { Pii } from './schemas.ts';

/** The partner's PII, sealed bound to its authToken (by the token's hash). */
export const partnerPiiSeal = (encryption: FieldEncryption) => bindSeal<Pii, [tokenId: string]>(encryption, 'json', (tokenId) => `partner-auth:${tokenId}:pii`);

export interface EnrollUserDeps {
  accounts: AccountService;
  partners: PartnerStore;
  userTokens: PartnerUserTokens;
  locks: EphemeralStore;
  encryption: FieldEncryption;
  /** How long a request waits for another one enrolling the same DBP user. */
  waitMs?: number;
}

const LOCK_TTL = ttlMillis(60_000);
const POLL_MS = 100;

/**
 * Enrolls a DBP user: the platform account (through the shared AccountService, with an idempotency
 * key derived from appKey + dbpUserId), its eligibility for userTokens, then the mapping. Every step is
 * idempotent, so a retry after a failure half-way completes the enrollment instead of duplicating it.
 * One request at a time works on one DBP user (a lock in the ephemeral store); the others wait for
 * its mapping, so concurrent requests converge on one user.
 */
export function enrollUser(deps: EnrollUserDeps): (input: EnrollInput) => Promise<string> {
  const waitMs = deps.waitMs ?? 25_000;
  const piiSeal = partnerPiiSeal(deps.encryption);
  return async ({ tokenId, subject, pii }) => {
    const subjectHash = createHash('sha256').update(`${subject.appKey}\u0000${subject.dbpUserId}`).digest('hex');
    const lock = `partner:enroll-lock:${subjectHash}`;
    const deadline = Date.now() + waitMs;
    while (!(await deps.locks.setIfAbsent(lock, tokenId, LOCK_TTL))) {
      const mapped = await deps.partners.findMapping(subject.appKey, subject.dbpUserId);
      if (mapped) return mapped;
      if (Date.now() > deadline) throw new DomainError('DEPENDENCY_UNAVAILABLE', 'Another request is enrolling this user; try again');
      await sleep(POLL_MS);
    }
    try {
      const mapped = await deps.partners.findMapping(subject.appKey, subject.dbpUserId);
      if (mapped) return mapped;
      const details = piiSeal.open(pii, tokenId);
      const { userId } = await deps.accounts.create(
        {
          firstName: details.firstName,
          lastName: details.lastName,
          // The partner vouches for the person, not for the e-mail or phone (nor does KBA): they are
          // contact candidates, never the account's identifiers, so they cannot squat a real owner's
          // sign-up or link this user to an existing account (decision 0016). No sign-in identifier.
          contactCandidates: {
            ...(details.email ? { email: details.email } : {}),
            ...(details.phone ? { phone: details.phone } : {}),
          },
          emailVerified: false,
          phoneVerified: false,
          signUpType: 'partner',
          tenant: CUSTODIAN_TENANT,
        },
        { idempotencyKey: `partner-enrollment:${subjectHash}` },
      );
      await deps.userTokens.enable(userId);
      return await deps.partners.map(subject.appKey, subject.dbpUserId, userId);
    } finally {
      await deps.locks.delete(lock);
    }
  };
}
