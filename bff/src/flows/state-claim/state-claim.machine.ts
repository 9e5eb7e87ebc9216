import { assign, fromPromise, setup } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';

/**
 * Custodian-to-state claim (SPEC Flow 2, seed 004; docs/decisions/0011-state-claim.md). Pure: every
 * effect is an actor its wire.ts provides. Identifiers travel sealed (`SealedIdentifier`,
 * AES-GCM via FieldEncryption): the persisted snapshot holds no identifier in clear, only its mask.
 *
 *   needIdentifier -> sendingCode -> codeSent -> verifyingCode -> lookup     (IdP gave no email/phone)
 *   lookup -> askOwnership -> passwordEntry -> checkingPassword -> decided(claim)
 *                          \-> decided(new, refuted)      passwordEntry x2 wrong -> decided(new)
 *   An account with an authenticator app needs its code with the password; a password sent without
 *   it is not checked and not counted (`secondFactor`, error `code-required`).
 *   lookup -> decided(new, no-match)     nobody holds it (or only unproven holders outside custodian: they lose it)
 *   lookup -> askOwnership (member)        an active upstream-only member holds it: its upstream password claims it
 *   lookup -> heldElsewhere -> decided(new, held-elsewhere, without it) | needIdentifier (another one)
 *   lookup -> closedHolder  -> decided(new, closed-holder; closed holders lose it) | needIdentifier
 *   start -> decided(resume)   an earlier flow of this state identity migrated, Keycloak lost that login
 *   decided --COMPLETE (valid handoff, same person)--> migrating -> done
 *
 * The account or member to claim or strip (`matchUserId`, `matchMemberId`) is only ever set from the
 * `lookup` actor, which resolves it on the server from the verified identifier; no event carries an
 * account id. Who may hold an identifier and what each case leads to: README.md ("Who holds the
 * identifier") and decision 0011.
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
/**
 * `held-elsewhere`: an enabled account outside the custodian tenant holds the identifier proven; the
 * person went on without it. `closed-holder`: only closed holders (disabled accounts, inactive
 * upstream-only members) held it; they lose it to the new account.
 */
export type DecisionReason = 'claimed' | 'refuted' | 'password-tries' | 'no-match' | 'already-migrated' | 'held-elsewhere' | 'closed-holder';

/**
 * Who holds the verified identifier, as the server found it (actors.ts `findHolder`); null: nobody
 * the new account has to wait for (nobody, or accounts outside custodian holding it unproven, which
 * lose it to the proven one when the account is created, decision 0019).
 * - `account`: an enabled custodian account: claimed with its Keycloak password.
 * - `member`: an active upstream-only member (lazy migration not done yet): claimed with its upstream
 *   password; the claim imports it into the state tenant.
 * - `elsewhere`: an enabled account of another tenant holds it proven: no claim across tenants.
 * - `closed`: only closed holders (disabled accounts, inactive or orphaned upstream members).
 */
export type Holder =
  | { kind: 'account'; userId: string; secondFactor: boolean }
  | { kind: 'member'; memberId: string }
  | { kind: 'elsewhere' }
  | { kind: 'closed' };
export type StepError = 'code-invalid' | 'rate-limited' | 'delivery-failed' | 'password-wrong' | 'code-required' | 'unavailable';

export interface MigrationResult {
  userId: string;
  created: boolean;
  /**
   * Holders that lost the identifier to the new account (`account:<id>` disabled accounts,
   * `member:<id>` upstream members), for the audit. Ids only; optional (older results lack it).
   */
  released?: string[];
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
  /** The matched upstream-only member (the core's user id). Optional: older snapshots lack it (null). */
  matchMemberId?: string | null;
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
  /** Go on as the page explained (a closed holder loses the identifier, or an account without it). */
  | { type: 'CONTINUE' }
  /** `otp`: the authenticator app's code, for an account that has one. */
  | { type: 'PASSWORD'; password: string; otp: string | null }
  /** Sent only after the handoff was checked against the Keycloak session (service.ts). */
  | { type: 'COMPLETE'; flowId: string };

export interface MigrationInput {
  flowId: string;
  decision: Decision;
  reason: DecisionReason;
  /** Always set for `claim`; null for `new` when the person went on without it (`held-elsewhere`), and may be for `resume`. */
  identifier: SealedIdentifier | null;
  otherIdentifier: SealedIdentifier | null;
  matchUserId: string | null;
  matchMemberId: string | null;
  identity: StateIdentity;
  tenant: string;
}

export interface PasswordInput {
  userId: string | null;
  memberId: string | null;
  identifier: SealedIdentifier;
  password: string;
  otp: string | null;
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

const failure = (e: unknown) =>
  e instanceof StepFailure ? { error: e.step, retryAfterSeconds: e.retryAfterSeconds } : { error: 'unavailable' as const, retryAfterSeconds: null };

export const stateClaimMachine = setup({
  types: {} as { context: StateClaimContext; events: StateClaimEvent; input: StateClaimInput },
  actors: {
    sendCode: notImplemented('sendCode') as unknown as ReturnType<typeof fromPromise<void, { identifier: SealedIdentifier; ip: string }>>,
    verifyCode: notImplemented('verifyCode') as unknown as ReturnType<typeof fromPromise<void, { identifier: SealedIdentifier; code: string; ip: string }>>,
    /** The enabled account an earlier flow migrated for this very state identity (its answer got lost). */
    findMigratedAccount: notImplemented('findMigratedAccount') as unknown as ReturnType<
      typeof fromPromise<{ userId: string } | null, { identity: StateIdentity }>
    >,
    /** Who holds exactly this identifier, resolved on the server (see `Holder`). */
    findHolder: notImplemented('findHolder') as unknown as ReturnType<typeof fromPromise<Holder | null, { identifier: SealedIdentifier }>>,
    /** The password of the matched account (Keycloak) or upstream-only member (the core, by the identifier). */
    checkPassword: notImplemented('checkPassword') as unknown as ReturnType<typeof fromPromise<PasswordCheck, PasswordInput>>,
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
    matchMemberId: null,
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
        input: ({ context, event }) => ({
          identifier: context.pending!,
          code: event.type === 'CODE' ? event.code : '',
          ip: event.type === 'CODE' ? event.ip : '',
        }),
        onDone: { target: 'lookup', actions: assign(({ context }) => ({ identifier: context.pending, pending: null, error: null, retryAfterSeconds: null })) },
        onError: { target: 'codeSent', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    lookup: {
      invoke: {
        src: 'findHolder',
        input: ({ context }) => ({ identifier: context.identifier! }),
        onDone: [
          {
            guard: ({ event }) => event.output?.kind === 'account',
            target: 'askOwnership',
            actions: assign(({ event }) => {
              const found = event.output as Extract<Holder, { kind: 'account' }>;
              return { matchUserId: found.userId, matchMemberId: null, secondFactor: found.secondFactor };
            }),
          },
          {
            guard: ({ event }) => event.output?.kind === 'member',
            target: 'askOwnership',
            actions: assign(({ event }) => ({
              matchUserId: null,
              matchMemberId: (event.output as Extract<Holder, { kind: 'member' }>).memberId,
              secondFactor: false,
            })),
          },
          { guard: ({ event }) => event.output?.kind === 'elsewhere', target: 'heldElsewhere', actions: assign({ matchUserId: null, matchMemberId: null }) },
          { guard: ({ event }) => event.output?.kind === 'closed', target: 'closedHolder', actions: assign({ matchUserId: null, matchMemberId: null }) },
          { target: 'decided', actions: assign({ decision: 'new', reason: 'no-match', matchUserId: null, matchMemberId: null }) },
        ],
        // Unhandled on purpose: the step fails with 503 and the row stays where it was (retry).
      },
    },
    // An enabled account of another tenant holds it proven: no claim across tenants (a person cannot
    // move between states here). Another identifier, or a new account without this one.
    heldElsewhere: {
      tags: [REST_TAG],
      on: {
        CONTINUE: { target: 'decided', actions: assign({ decision: 'new', reason: 'held-elsewhere', identifier: null, error: null }) },
        CHANGE_IDENTIFIER: { target: 'needIdentifier', actions: assign({ pending: null, error: null }) },
      },
    },
    // Only closed holders: the person sees that they lose it to the new account, and confirms.
    closedHolder: {
      tags: [REST_TAG],
      on: {
        CONTINUE: { target: 'decided', actions: assign({ decision: 'new', reason: 'closed-holder', error: null }) },
        CHANGE_IDENTIFIER: { target: 'needIdentifier', actions: assign({ pending: null, error: null }) },
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
          userId: context.matchUserId,
          memberId: context.matchMemberId ?? null,
          identifier: context.identifier!,
          password: event.type === 'PASSWORD' ? event.password : '',
          otp: event.type === 'PASSWORD' ? event.otp : null,
        }),
        onDone: [
          { guard: ({ event }) => event.output === 'valid', target: 'decided', actions: assign({ decision: 'claim', reason: 'claimed', error: null }) },
          // The app was set up after the lookup, or the code was left out: ask for it, not a try.
          {
            guard: ({ event }) => event.output === 'second-factor-required',
            target: 'passwordEntry',
            actions: assign({ secondFactor: true, error: 'code-required' }),
          },
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
          matchMemberId: context.matchMemberId ?? null,
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
