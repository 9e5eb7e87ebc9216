import { assign, fromPromise, setup } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';

/**
 * Custodian-to-state claim (SPEC Flow 2, seed 004; docs/decisions/0011-state-claim.md). Pure: every
 * effect is an actor the composition root provides. Identifiers travel sealed (`SealedIdentifier`,
 * AES-GCM via FieldEncryption): the persisted snapshot holds no identifier in clear, only its mask.
 *
 *   needIdentifier -> sendingCode -> codeSent -> verifyingCode -> lookup     (IdP gave no email/phone)
 *   lookup -> askOwnership -> passwordEntry -> checkingPassword -> decided(claim)
 *                          \-> decided(new, refuted)      passwordEntry x2 wrong -> decided(new)
 *   An account with an authenticator app needs its code with the password; a password sent without
 *   it is not checked and not counted (`secondFactor`, error `code-required`).
 *   lookup -> decided(new, no-match)
 *   start -> decided(resume)   an earlier flow of this state identity migrated, Keycloak lost that login
 *   decided --COMPLETE (valid handoff, same person)--> migrating -> done
 *
 * The account to claim or strip (`matchUserId`) is only ever set from the `lookup` actor, which
 * resolves it on the server from the verified identifier; no event carries an account id.
 */
export const STATE_CLAIM_KIND = 'state-claim';
export const STATE_CLAIM_MACHINE_VERSION = 1;
/** Two tries in all (seed 004: "one retry"), counted in the persisted context. */
export const MAX_PASSWORD_TRIES = 2;

/** Who the state IdP says the person is (from Keycloak's brokered context, server to server). */
export interface StateIdentity {
  identityProvider: string;
  brokeredUserId: string;
  brokeredUsername: string | null;
  firstName: string | null;
  lastName: string | null;
  stateUserId: string | null;
}

/** An identifier sealed for the flow, with the masked form shown to the person. */
export interface SealedIdentifier {
  sealed: string;
  masked: string;
  kind: 'email' | 'phone';
}

/** `resume`: an earlier flow of this state identity migrated already, but Keycloak never finished that login. */
export type Decision = 'claim' | 'new' | 'resume';
export type DecisionReason = 'claimed' | 'refuted' | 'password-tries' | 'no-match' | 'already-migrated';
export type StepError = 'code-invalid' | 'rate-limited' | 'delivery-failed' | 'password-wrong' | 'code-required' | 'unavailable';

export interface MigrationResult {
  userId: string;
  created: boolean;
}

export interface StateClaimContext {
  identity: StateIdentity;
  /** SHA-256 of Keycloak's login session the flow belongs to; `complete` must come from it. */
  loginSession: string;
  /** The Keycloak action URL to return to (sent by Keycloak itself, never by the browser). */
  returnUrl: string;
  tenant: string;
  pending: SealedIdentifier | null;
  identifier: SealedIdentifier | null;
  /** A phone the IdP asserted besides its e-mail: added to a new account when nobody else holds it. */
  otherIdentifier: SealedIdentifier | null;
  matchUserId: string | null;
  /**
   * The matched account has an authenticator app: its code goes with the password, as Keycloak wants.
   * Optional: snapshots persisted before it existed lack it (false).
   */
  secondFactor?: boolean;
  passwordTries: number;
  decision: Decision | null;
  reason: DecisionReason | null;
  error: StepError | null;
  retryAfterSeconds: number | null;
  result: MigrationResult | null;
}

export interface StateClaimInput {
  identity: StateIdentity;
  loginSession: string;
  returnUrl: string;
  tenant: string;
  /** The identifier the IdP asserted (trusted like its e-mail), or null: then the person verifies one by OTP. */
  identifier: SealedIdentifier | null;
  otherIdentifier?: SealedIdentifier | null;
}

export type StateClaimEvent =
  | { type: 'IDENTIFIER'; identifier: SealedIdentifier; ip: string }
  | { type: 'RESEND'; ip: string }
  | { type: 'CHANGE_IDENTIFIER' }
  | { type: 'CODE'; code: string; ip: string }
  | { type: 'MINE' }
  | { type: 'NOT_MINE' }
  /** `otp`: the authenticator app's code, for an account that has one. */
  | { type: 'PASSWORD'; password: string; otp: string | null }
  /** Sent only after the handoff was checked against the Keycloak session (state-claim-service.ts). */
  | { type: 'COMPLETE'; flowId: string };

export interface MigrationInput {
  flowId: string;
  decision: Decision;
  reason: DecisionReason;
  /** Always set for `claim` and `new`; may be null for `resume`. */
  identifier: SealedIdentifier | null;
  otherIdentifier: SealedIdentifier | null;
  matchUserId: string | null;
  identity: StateIdentity;
  tenant: string;
}

/** `second-factor-required`: the account has an authenticator app and no code came; nothing was checked. */
export type PasswordCheck = 'valid' | 'invalid' | 'second-factor-required';

/** An effect's failure as the machine understands it (the actors translate DomainErrors). */
export class StepFailure extends Error {
  readonly step: StepError;
  readonly retryAfterSeconds: number | null;
  constructor(step: StepError, retryAfterSeconds: number | null = null) {
    super(step);
    this.step = step;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const notImplemented = (name: string) =>
  fromPromise<never, unknown>(async () => {
    throw new Error(`state-claim actor ${name} is not provided`);
  });

const failure = (e: unknown) => (e instanceof StepFailure ? { error: e.step, retryAfterSeconds: e.retryAfterSeconds } : { error: 'unavailable' as const, retryAfterSeconds: null });

export const stateClaimMachine = setup({
  types: {} as { context: StateClaimContext; events: StateClaimEvent; input: StateClaimInput },
  actors: {
    sendCode: notImplemented('sendCode') as unknown as ReturnType<typeof fromPromise<void, { identifier: SealedIdentifier; ip: string }>>,
    verifyCode: notImplemented('verifyCode') as unknown as ReturnType<typeof fromPromise<void, { identifier: SealedIdentifier; code: string; ip: string }>>,
    /** The enabled account an earlier flow migrated for this very state identity (its answer got lost). */
    findMigratedAccount: notImplemented('findMigratedAccount') as unknown as ReturnType<typeof fromPromise<{ userId: string } | null, { identity: StateIdentity }>>,
    /** The enabled custodian account holding exactly this identifier, resolved on the server. */
    findCustodianAccount: notImplemented('findCustodianAccount') as unknown as ReturnType<
      typeof fromPromise<{ userId: string; secondFactor: boolean } | null, { identifier: SealedIdentifier }>
    >,
    checkPassword: notImplemented('checkPassword') as unknown as ReturnType<typeof fromPromise<PasswordCheck, { userId: string; password: string; otp: string | null }>>,
    migrate: notImplemented('migrate') as unknown as ReturnType<typeof fromPromise<MigrationResult, MigrationInput>>,
  },
}).createMachine({
  id: 'state-claim',
  context: ({ input }) => ({
    identity: input.identity,
    loginSession: input.loginSession,
    returnUrl: input.returnUrl,
    tenant: input.tenant,
    pending: null,
    identifier: input.identifier,
    otherIdentifier: input.otherIdentifier ?? null,
    matchUserId: null,
    secondFactor: false,
    passwordTries: 0,
    decision: null,
    reason: null,
    error: null,
    retryAfterSeconds: null,
    result: null,
  }),
  initial: 'start',
  states: {
    start: {
      invoke: {
        src: 'findMigratedAccount',
        input: ({ context }) => ({ identity: context.identity }),
        onDone: [
          {
            guard: ({ event }) => event.output !== null,
            target: 'decided',
            actions: assign({ decision: 'resume', reason: 'already-migrated', matchUserId: ({ event }) => event.output!.userId }),
          },
          { guard: ({ context }) => context.identifier !== null, target: 'lookup' },
          { target: 'needIdentifier' },
        ],
      },
    },
    needIdentifier: {
      tags: [REST_TAG],
      on: { IDENTIFIER: { target: 'sendingCode', actions: assign({ pending: ({ event }) => event.identifier, error: null }) } },
    },
    sendingCode: {
      invoke: {
        src: 'sendCode',
        input: ({ context, event }) => ({ identifier: context.pending!, ip: event.type === 'IDENTIFIER' || event.type === 'RESEND' ? event.ip : '' }),
        onDone: { target: 'codeSent', actions: assign({ error: null, retryAfterSeconds: null }) },
        onError: { target: 'needIdentifier', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    codeSent: {
      tags: [REST_TAG],
      on: {
        CODE: 'verifyingCode',
        RESEND: 'sendingCode',
        CHANGE_IDENTIFIER: { target: 'needIdentifier', actions: assign({ pending: null, error: null }) },
      },
    },
    verifyingCode: {
      invoke: {
        src: 'verifyCode',
        input: ({ context, event }) => ({ identifier: context.pending!, code: event.type === 'CODE' ? event.code : '', ip: event.type === 'CODE' ? event.ip : '' }),
        onDone: { target: 'lookup', actions: assign(({ context }) => ({ identifier: context.pending, pending: null, error: null, retryAfterSeconds: null })) },
        onError: { target: 'codeSent', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    lookup: {
      invoke: {
        src: 'findCustodianAccount',
        input: ({ context }) => ({ identifier: context.identifier! }),
        onDone: [
          {
            guard: ({ event }) => event.output !== null,
            target: 'askOwnership',
            actions: assign({ matchUserId: ({ event }) => event.output!.userId, secondFactor: ({ event }) => event.output!.secondFactor }),
          },
          { target: 'decided', actions: assign({ decision: 'new', reason: 'no-match' }) },
        ],
        // Unhandled on purpose: the step fails with 503 and the row stays where it was (retry).
      },
    },
    askOwnership: {
      tags: [REST_TAG],
      on: {
        MINE: 'passwordEntry',
        NOT_MINE: { target: 'decided', actions: assign({ decision: 'new', reason: 'refuted' }) },
      },
    },
    passwordEntry: {
      tags: [REST_TAG],
      on: { PASSWORD: 'checkingPassword', NOT_MINE: { target: 'decided', actions: assign({ decision: 'new', reason: 'refuted', error: null }) } },
    },
    checkingPassword: {
      invoke: {
        src: 'checkPassword',
        input: ({ context, event }) => ({
          userId: context.matchUserId!,
          password: event.type === 'PASSWORD' ? event.password : '',
          otp: event.type === 'PASSWORD' ? event.otp : null,
        }),
        onDone: [
          { guard: ({ event }) => event.output === 'valid', target: 'decided', actions: assign({ decision: 'claim', reason: 'claimed', error: null }) },
          // The app was set up after the lookup, or the code was left out: ask for it, not a try.
          { guard: ({ event }) => event.output === 'second-factor-required', target: 'passwordEntry', actions: assign({ secondFactor: true, error: 'code-required' }) },
          {
            guard: ({ context }) => context.passwordTries + 1 >= MAX_PASSWORD_TRIES,
            target: 'decided',
            actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, decision: 'new', reason: 'password-tries', error: 'password-wrong' }),
          },
          { target: 'passwordEntry', actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, error: 'password-wrong' }) },
        ],
        // Keycloak down: not a try; the person is asked to try again.
        onError: { target: 'passwordEntry', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    decided: {
      tags: [REST_TAG],
      on: { COMPLETE: 'migrating' },
    },
    migrating: {
      invoke: {
        src: 'migrate',
        input: ({ context, event }) => ({
          flowId: event.type === 'COMPLETE' ? event.flowId : '',
          decision: context.decision!,
          reason: context.reason!,
          identifier: context.identifier,
          otherIdentifier: context.otherIdentifier,
          matchUserId: context.matchUserId,
          identity: context.identity,
          tenant: context.tenant,
        }),
        onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
        // Unhandled on purpose: a dependency down rethrows from `send` (503, "try again"), the row
        // stays `decided`, and the retry runs the idempotent migration again.
      },
    },
    done: { type: 'final' },
  },
});

export type StateClaimMachine = typeof stateClaimMachine;
