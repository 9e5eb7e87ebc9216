import { assign, fromPromise, setup } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';

/**
 * The partner enrollment and consent flow of one authToken (seed 003; SPEC Flow 3's table is the
 * contract). Pure: every effect is a named actor its wire.ts provides. The flow runtime
 * persists the snapshot at every `rest` state (Redis, expiring with the authToken), as it is (the
 * flow's `sealSnapshot: false`), so it holds only JSON and no plaintext PII: `pii` is sealed by the
 * field encryption, bound to this token, and not kept at all for a DBP user who is enrolled already
 * (no step of theirs needs it).
 *
 *   deciding ─┬─ enrolled (mapping exists) ────────────────────────────── enrolled ─EXCHANGE─▶ issuing ─▶ done
 *             ├─ autoEnroll off ─────────────▶ awaitingEnrollment ─START_KBA─▶ startingKba ─▶ awaitingKbaAnswers
 *             │                                  ▲ (identity not found)      ▲              │ ANSWER_KBA
 *             │                                  │                           └─START_KBA────┤ (new details)
 *             │                                  └──────────────────────────── checkingKba ◀┘
 *             │                                       wrong, tries left ◀──┤ ├─▶ wrong, none left: kbaLocked
 *             │                                                            └─▶ passed: enrolling ─▶ issuing ─▶ done
 *             ├─ autoEnroll + trustAuth ──▶ enrollingNow ─▶ enrolled
 *             ├─ autoEnroll + kbaBypass ──▶ awaitingConsent ─CONSENT─▶ enrolling ─▶ issuing ─▶ done
 *             └─ autoEnroll, neither ─────▶ conflict (409: CaaS and b2b_clients settings disagree)
 *
 * START_KBA is taken at most `kbaMaxStarts` times per token (issue 14 §3: each start asks the upstream
 * core whether a person exists). A start replaces the verification being answered: answers always go
 * to the last one started, whose id never leaves the BFF.
 */
export const PARTNER_ENROLLMENT_KIND = 'partner-enrollment';
export const PARTNER_ENROLLMENT_MACHINE_VERSION = 2;

export interface EnrollmentSubject {
  appKey: string;
  dbpUserId: string;
  clientId: string;
}

export interface EnrollmentSettings {
  autoEnroll: boolean;
  kbaBypass: boolean;
  trustAuth: boolean;
}

export interface KbaQuestionView {
  id: string;
  text: string;
}

export interface PartnerEnrollmentInput {
  /** SHA-256 of the authToken: the record's key, and the associated data of the sealed PII. */
  tokenId: string;
  subject: EnrollmentSubject;
  settings: EnrollmentSettings;
  /** The mapped user when the DBP user is enrolled already. */
  userId: string | null;
  /** PII as sent by the partner, sealed; null when the user is enrolled already (`userId` set). */
  pii: string | null;
  kbaMaxAttempts: number;
  /** KBA starts (upstream look-ups of a person) the token allows. */
  kbaMaxStarts: number;
}

export interface PartnerEnrollmentContext extends Omit<PartnerEnrollmentInput, 'kbaMaxAttempts' | 'kbaMaxStarts'> {
  kba: { verificationId: string; questions: KbaQuestionView[] } | null;
  kbaAttemptsLeft: number;
  /** Counted down when a start is taken, before the upstream core is asked. */
  kbaStartsLeft: number;
  /** What went wrong in the last step, for the route to answer with (cleared by the next step). */
  problem: 'identity_not_verifiable' | 'kba_failed' | null;
  /** Only ever in the final `done` state, which is never persisted. */
  userToken: { accessToken: string; expiresAt: string } | null;
}

export type PartnerEnrollmentEvent =
  | { type: 'EXCHANGE' }
  | { type: 'CONSENT' }
  /** `pii`: the PII the user confirmed (possibly corrected), sealed by the route. */
  | { type: 'START_KBA'; pii: string }
  | { type: 'ANSWER_KBA'; answers: { questionId: string; answer: string }[] };

export interface EnrollInput {
  tokenId: string;
  subject: EnrollmentSubject;
  pii: string;
}

export const partnerEnrollmentMachine = setup({
  types: {
    context: {} as PartnerEnrollmentContext,
    input: {} as PartnerEnrollmentInput,
    events: {} as PartnerEnrollmentEvent,
  },
  actors: {
    /** Creates (or finds) the platform user and maps the DBP user to it; the user id. Idempotent. */
    enroll: fromPromise<string, EnrollInput>(async () => {
      throw new Error('enroll is provided by wire.ts');
    }),
    /** A userToken for the user, attributed to the partner client. */
    issueUserToken: fromPromise<{ accessToken: string; expiresAt: string }, { userId: string; partnerClientId: string }>(async () => {
      throw new Error('issueUserToken is provided by wire.ts');
    }),
    /** KBA questions from the upstream core for the sealed PII; null when it cannot verify that person. */
    startKba: fromPromise<{ verificationId: string; questions: KbaQuestionView[] } | null, { tokenId: string; pii: string }>(async () => {
      throw new Error('startKba is provided by wire.ts');
    }),
    /** The upstream core's verdict on the answers. */
    checkKba: fromPromise<'passed' | 'failed', { verificationId: string; answers: { questionId: string; answer: string }[] }>(async () => {
      throw new Error('checkKba is provided by wire.ts');
    }),
  },
  actions: {
    takeKbaStart: assign(({ context, event }) => ({
      pii: (event as Extract<PartnerEnrollmentEvent, { type: 'START_KBA' }>).pii,
      kba: null,
      problem: null,
      kbaStartsLeft: context.kbaStartsLeft - 1,
    })),
  },
  guards: {
    enrolled: ({ context }) => context.userId !== null,
    standardEnrollment: ({ context }) => !context.settings.autoEnroll,
    trusted: ({ context }) => context.settings.trustAuth,
    consentBased: ({ context }) => context.settings.kbaBypass,
    kbaPassed: ({ event }) => (event as unknown as { output: string }).output === 'passed',
    lastKbaAttempt: ({ context }) => context.kbaAttemptsLeft <= 1,
    kbaStartLeft: ({ context }) => context.kbaStartsLeft > 0,
  },
}).createMachine({
  id: 'partnerEnrollment',
  context: ({ input }) => ({
    tokenId: input.tokenId,
    subject: input.subject,
    settings: input.settings,
    userId: input.userId,
    pii: input.pii,
    kba: null,
    kbaAttemptsLeft: input.kbaMaxAttempts,
    kbaStartsLeft: input.kbaMaxStarts,
    problem: null,
    userToken: null,
  }),
  initial: 'deciding',
  states: {
    deciding: {
      always: [
        { guard: 'enrolled', target: 'enrolled' },
        { guard: 'standardEnrollment', target: 'awaitingEnrollment' },
        { guard: 'trusted', target: 'enrollingNow' },
        { guard: 'consentBased', target: 'awaitingConsent' },
        { target: 'conflict' },
      ],
    },
    /** autoEnroll + trustAuth: the user is created and mapped while the partner's POST waits. */
    enrollingNow: {
      invoke: {
        src: 'enroll',
        input: ({ context }) => ({ tokenId: context.tokenId, subject: context.subject, pii: context.pii! }),
        onDone: { target: 'enrolled', actions: assign({ userId: ({ event }) => event.output }) },
      },
    },
    enrolled: {
      tags: [REST_TAG],
      on: { EXCHANGE: 'issuing' },
    },
    awaitingConsent: {
      tags: [REST_TAG],
      on: { CONSENT: 'enrolling' },
    },
    awaitingEnrollment: {
      tags: [REST_TAG],
      on: { START_KBA: { guard: 'kbaStartLeft', target: 'startingKba', actions: 'takeKbaStart' } },
    },
    startingKba: {
      invoke: {
        src: 'startKba',
        input: ({ context }) => ({ tokenId: context.tokenId, pii: context.pii! }),
        onDone: [
          {
            guard: ({ event }) => event.output === null,
            target: 'awaitingEnrollment',
            actions: assign({ problem: 'identity_not_verifiable' as const }),
          },
          { target: 'awaitingKbaAnswers', actions: assign({ kba: ({ event }) => event.output }) },
        ],
      },
    },
    awaitingKbaAnswers: {
      tags: [REST_TAG],
      on: {
        ANSWER_KBA: { target: 'checkingKba', actions: assign({ problem: null }) },
        // The verification being answered is dropped at once: whatever the new start gives, the old
        // questions can no longer be answered with this token.
        START_KBA: { guard: 'kbaStartLeft', target: 'startingKba', actions: 'takeKbaStart' },
      },
    },
    checkingKba: {
      invoke: {
        src: 'checkKba',
        input: ({ context, event }) => ({
          verificationId: context.kba!.verificationId,
          answers: (event as Extract<PartnerEnrollmentEvent, { type: 'ANSWER_KBA' }>).answers,
        }),
        onDone: [
          { guard: 'kbaPassed', target: 'enrolling' },
          { guard: 'lastKbaAttempt', target: 'kbaLocked', actions: assign({ kbaAttemptsLeft: 0, problem: 'kba_failed' as const }) },
          {
            target: 'awaitingKbaAnswers',
            actions: assign({ kbaAttemptsLeft: ({ context }) => context.kbaAttemptsLeft - 1, problem: 'kba_failed' as const }),
          },
        ],
      },
    },
    /** After consent or passed KBA: create and map the user, then hand out the userToken at once. */
    enrolling: {
      invoke: {
        src: 'enroll',
        input: ({ context }) => ({ tokenId: context.tokenId, subject: context.subject, pii: context.pii! }),
        onDone: { target: 'issuing', actions: assign({ userId: ({ event }) => event.output }) },
      },
    },
    issuing: {
      invoke: {
        src: 'issueUserToken',
        input: ({ context }) => ({ userId: context.userId!, partnerClientId: context.subject.clientId }),
        onDone: { target: 'done', actions: assign({ userToken: ({ event }) => event.output }) },
      },
    },
    done: { type: 'final' },
    conflict: { type: 'final' },
    kbaLocked: { type: 'final' },
  },
});

export type PartnerEnrollmentMachine = typeof partnerEnrollmentMachine;
