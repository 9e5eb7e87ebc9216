import { fromPromise } from 'xstate';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import type { PartnerUserTokens } from '../../ports/partner-user-tokens.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import { partnerPiiSeal } from './enroll-user.ts';
import type { EnrollInput, KbaQuestionView } from './partner-enrollment.machine.ts';

export interface PartnerEnrollmentEffectDeps {
  enrollUser: (input: EnrollInput) => Promise<string>;
  userTokens: PartnerUserTokens;
  upstream: UpstreamCore;
  encryption: FieldEncryption;
}

/** The real effects of the partner enrollment machine, for `partnerEnrollmentMachine.provide({ actors })`. */
export function partnerEnrollmentActors(deps: PartnerEnrollmentEffectDeps) {
  const piiSeal = partnerPiiSeal(deps.encryption);
  return {
    enroll: fromPromise<string, EnrollInput>(({ input }) => deps.enrollUser(input)),
    issueUserToken: fromPromise<{ accessToken: string; expiresAt: string }, { userId: string; partnerClientId: string }>(async ({ input }) => {
      const token = await deps.userTokens.issue(input.userId, input.partnerClientId);
      return { accessToken: token.accessToken, expiresAt: token.expiresAt.toISOString() };
    }),
    startKba: fromPromise<{ verificationId: string; questions: KbaQuestionView[] } | null, { tokenId: string; pii: string }>(async ({ input }) => {
      const pii = piiSeal.open(input.pii, input.tokenId);
      const verification = await deps.upstream.startIdentityVerification({
        firstName: pii.firstName,
        lastName: pii.lastName,
        dob: pii.dob,
        ...(pii.ssn ? { ssn: pii.ssn } : {}),
      });
      return verification && { verificationId: verification.id, questions: verification.questions.map((q) => ({ id: q.id, text: q.text })) };
    }),
    checkKba: fromPromise<'passed' | 'failed', { verificationId: string; answers: { questionId: string; answer: string }[] }>(({ input }) =>
      deps.upstream.answerIdentityVerification(input.verificationId, input.answers),
    ),
  };
}
