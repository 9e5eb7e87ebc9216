import { assign, fromPromise, setup } from 'xstate';
import type { Language } from '../../kernel/languages.ts';
import { REST_TAG } from '../../kernel/flow/index.ts';

/**
 * Custodian-to-state claim (SPEC Flow 2, seed 004; docs/decisions/0011-state-claim.md, 0030). Pure:
 * every effect is an actor its wire.ts provides. Identifiers travel sealed (`SealedIdentifier`,
 * AES-GCM via FieldEncryption): the persisted snapshot holds no identifier in clear, only its mask.
 *
 *   needIdentifier -> sendingCode -> codeSent -> verifyingCode -> lookup     (IdP gave no email/phone)
 *   lookup -> askOwnership -> passwordEntry -> checkingPassword -> applying(claim) -> finished
 *   askOwnership / passwordEntry "not mine", or a second wrong password -> confirmNew
 *   confirmNew --CONFIRM--> applying(new) -> finished          nothing is changed before CONFIRM
 *   confirmNew --BACK--> askOwnership (refuted)   confirmNew --FORGOT--> recovery (password-tries)
 *   passwordEntry --FORGOT--> sendingRecoveryCode -> recoveryCode -> verifyingRecoveryCode
 *       -> newPassword -> settingPassword -> applying(claim, recovered)    (a member: no new password)
 *   An account with an authenticator app needs its code with the password; a password sent without
 *   it is not checked and not counted (`secondFactor`, error `code-required`).
 *   lookup -> decided(new, no-match)     nobody holds it (or only unproven holders outside custodian: they lose it)
 *   lookup -> askOwnership (member)        an active upstream-only member holds it: its upstream password claims it
 *   lookup -> heldElsewhere -> applying(new, held-elsewhere, without it) | needIdentifier (another one)
 *   lookup -> closedHolder  -> applying(new, closed-holder; closed holders lose it) | needIdentifier
 *   start -> decided(resume)   an earlier flow of this state identity migrated, Keycloak lost that login
 *   applying fails (a dependency down) -> notApplied --RETRY--> applying
 *   finished --COMPLETE (valid handoff, same person)--> done            (migrated already: nothing runs)
 *   decided  --COMPLETE (valid handoff, same person)--> migrating -> done   (no page asked anything)
 *
 * The account or member to claim or strip (`matchUserId`, `matchMemberId`) is only ever set from the
 * `lookup` actor, which resolves it on the server from the verified identifier; no event carries an
 * account id. Who may hold an identifier and what each case leads to: README.md ("Who holds the
 * identifier") and decision 0011; the confirmation and the recovery: decision 0030.
 */
export const STATE_CLAIM_KIND = 'state-claim';
/** 2: confirmation before closing, recovery, migration before the handoff (decision 0030); flows of 1 restart. */
export const STATE_CLAIM_MACHINE_VERSION = 2;
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
 * upstream-only members) held it; they lose it to the new account. `recovered`: claimed after a code
 * to the identifier (and, for a Keycloak account, a new password) instead of the old password.
 */
export type DecisionReason = 'claimed' | 'recovered' | 'refuted' | 'password-tries' | 'no-match' | 'already-migrated' | 'held-elsewhere' | 'closed-holder';

/**
 * Who holds the verified identifier, as the server found it (actors.ts `findHolder`); null: nobody
 * the new account has to wait for (nobody, or accounts outside custodian holding it unproven, which
 * lose it to the proven one when the account is created, decision 0019).
 * - `account`: an enabled custodian account: claimed with its Keycloak password. `proven`: it holds
 *   the identifier verified (a new account then closes it; unproven, it only loses the identifier).
 * - `member`: an active upstream-only member (lazy migration not done yet): claimed with its upstream
 *   password; the claim imports it into the state tenant.
 * - `elsewhere`: an enabled account of another tenant holds it proven: no claim across tenants.
 * - `closed`: only closed holders (disabled accounts, inactive or orphaned upstream members).
 */
export type Holder =
  | { kind: 'account'; userId: string; secondFactor: boolean; proven: boolean }
  | { kind: 'member'; memberId: string }
  | { kind: 'elsewhere' }
  | { kind: 'closed' };
/**
 * What a page shows after a step. `password-policy`/`password-reused`: the new password breaks the
 * realm's policy (history: one of the last ones). `recovered-code-wrong`: the new password is saved,
 * the authenticator app's code was not right.
 */
export type StepError =
  | 'code-invalid'
  | 'rate-limited'
  | 'delivery-failed'
  | 'password-wrong'
  | 'code-required'
  | 'password-policy'
  | 'password-reused'
  | 'recovered-code-wrong'
  | 'unavailable';

/** Which code a step sends: to verify the identifier the IdP did not give, or to recover the matched account. */
export type CodePurpose = 'identifier' | 'recovery';

export interface MigrationResult {
  userId: string;
  created: boolean;
  /**
   * Holders that lost the identifier to the new account (`account:<id>` disabled accounts,
   * `member:<id>` upstream members), for the audit. Ids only.
   */
  released?: string[];
  /** What became of the matched account or member in a "new" migration: `closed`, or `kept` (it held the identifier unproven and only lost it). */
  match?: 'closed' | 'kept';
  /** The state tenant's display name (Keycloak organization), for the page that says what was done. */
  tenantName?: string;
}

export interface StateClaimContext {
  /** The flow's own id: the migration's idempotency key. */
  flowId: string;
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
  /** The matched upstream-only member (the core's user id). */
  matchMemberId: string | null;
  /** A "new" decision closes the matched holder (a member, or an account holding the identifier proven). */
  matchCloses: boolean;
  /** The matched account has an authenticator app: its code goes with the password, as Keycloak wants. */
  secondFactor: boolean;
  passwordTries: number;
  decision: Decision | null;
  reason: DecisionReason | null;
  error: StepError | null;
  retryAfterSeconds: number | null;
  result: MigrationResult | null;
  /** The language the person last answered in (Keycloak's at the start): a new account's `locale`. */
  language: Language | null;
}

export interface StateClaimInput {
  flowId: string;
  /** Keycloak's language of the login, when it is one of ours. */
  language?: Language | null;
  identity: StateIdentity;
  loginSession: string;
  returnUrl: string;
  tenant: string;
  /** The identifier the IdP asserted (trusted like its e-mail), or null: then the person verifies one by OTP. */
  identifier: SealedIdentifier | null;
  otherIdentifier?: SealedIdentifier | null;
}

/** `language`: of the page the person is on, for the code's mail or SMS. */
export type StateClaimEvent =
  | { type: 'IDENTIFIER'; identifier: SealedIdentifier; ip: string; language: Language }
  | { type: 'RESEND'; ip: string; language: Language }
  | { type: 'CHANGE_IDENTIFIER' }
  | { type: 'CODE'; code: string; ip: string }
  | { type: 'MINE' }
  | { type: 'NOT_MINE' }
  /** Go on as the page explained (a closed holder loses the identifier, or an account without it). */
  | { type: 'CONTINUE'; language: Language }
  /** `otp`: the authenticator app's code, for an account that has one. */
  | { type: 'PASSWORD'; password: string; otp: string | null }
  /** "Forgot password?": a code to the identifier instead of the password. */
  | { type: 'FORGOT'; ip: string; language: Language }
  /** Yes, close the matched account and make a new one (the confirmation page). */
  | { type: 'CONFIRM'; language: Language }
  /** Back from the confirmation or the recovery to the question or the password. */
  | { type: 'BACK' }
  /** The recovered account's new password (with the app's code, for an account that has one). */
  | { type: 'NEW_PASSWORD'; password: string; otp: string | null }
  /** Try the migration again after a dependency was down. */
  | { type: 'RETRY' }
  /** Sent only after the handoff was checked against the Keycloak session (service.ts). */
  | { type: 'COMPLETE' };

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
  /** A new account's language (`locale`); a claimed account keeps its own. */
  language: Language | null;
}

export interface PasswordInput {
  userId: string | null;
  memberId: string | null;
  identifier: SealedIdentifier;
  password: string;
  otp: string | null;
}

export interface CodeInput {
  identifier: SealedIdentifier;
  purpose: CodePurpose;
  ip: string;
  language: Language;
}

export interface NewPasswordInput {
  userId: string;
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

const ipOf = (event: StateClaimEvent) => ('ip' in event ? event.ip : '');
const languageOf = (event: StateClaimEvent): Language => ('language' in event ? event.language : 'en');

export const stateClaimMachine = setup({
  types: {} as { context: StateClaimContext; events: StateClaimEvent; input: StateClaimInput },
  actors: {
    sendCode: notImplemented('sendCode') as unknown as ReturnType<typeof fromPromise<void, CodeInput>>,
    verifyCode: notImplemented('verifyCode') as unknown as ReturnType<
      typeof fromPromise<void, { identifier: SealedIdentifier; purpose: CodePurpose; code: string; ip: string }>
    >,
    /** The enabled account an earlier flow migrated for this very state identity (its answer got lost). */
    findMigratedAccount: notImplemented('findMigratedAccount') as unknown as ReturnType<
      typeof fromPromise<{ userId: string } | null, { identity: StateIdentity }>
    >,
    /** Who holds exactly this identifier, resolved on the server (see `Holder`). */
    findHolder: notImplemented('findHolder') as unknown as ReturnType<typeof fromPromise<Holder | null, { identifier: SealedIdentifier }>>,
    /** The password of the matched account (Keycloak) or upstream-only member (the core, by the identifier). */
    checkPassword: notImplemented('checkPassword') as unknown as ReturnType<typeof fromPromise<PasswordCheck, PasswordInput>>,
    /** Sets the recovered account's new password (Keycloak checks its policy); `invalid`: saved, but the app's code was wrong. */
    setNewPassword: notImplemented('setNewPassword') as unknown as ReturnType<typeof fromPromise<'valid' | 'invalid', NewPasswordInput>>,
    migrate: notImplemented('migrate') as unknown as ReturnType<typeof fromPromise<MigrationResult, MigrationInput>>,
  },
  guards: {
    refuted: ({ context }) => context.reason === 'refuted',
    triesUsed: ({ context }) => context.passwordTries >= MAX_PASSWORD_TRIES,
    isMember: ({ context }) => context.matchMemberId !== null,
  },
}).createMachine({
  id: 'state-claim',
  context: ({ input }) => ({
    flowId: input.flowId,
    identity: input.identity,
    loginSession: input.loginSession,
    returnUrl: input.returnUrl,
    tenant: input.tenant,
    pending: null,
    identifier: input.identifier,
    otherIdentifier: input.otherIdentifier ?? null,
    matchUserId: null,
    matchMemberId: null,
    matchCloses: false,
    secondFactor: false,
    passwordTries: 0,
    decision: null,
    reason: null,
    error: null,
    retryAfterSeconds: null,
    result: null,
    language: input.language ?? null,
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
        input: ({ context, event }) => ({ identifier: context.pending!, purpose: 'identifier' as const, ip: ipOf(event), language: languageOf(event) }),
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
          purpose: 'identifier' as const,
          code: event.type === 'CODE' ? event.code : '',
          ip: ipOf(event),
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
              return { matchUserId: found.userId, matchMemberId: null, secondFactor: found.secondFactor, matchCloses: found.proven };
            }),
          },
          {
            guard: ({ event }) => event.output?.kind === 'member',
            target: 'askOwnership',
            actions: assign(({ event }) => ({
              matchUserId: null,
              matchMemberId: (event.output as Extract<Holder, { kind: 'member' }>).memberId,
              secondFactor: false,
              matchCloses: true,
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
        CONTINUE: {
          target: 'applying',
          actions: assign(({ event }) => ({
            decision: 'new' as const,
            reason: 'held-elsewhere' as const,
            identifier: null,
            error: null,
            language: event.language,
          })),
        },
        CHANGE_IDENTIFIER: { target: 'needIdentifier', actions: assign({ pending: null, error: null }) },
      },
    },
    // Only closed holders: the page says that they lose it to the new account, and the person confirms.
    closedHolder: {
      tags: [REST_TAG],
      on: {
        CONTINUE: {
          target: 'applying',
          actions: assign(({ event }) => ({ decision: 'new' as const, reason: 'closed-holder' as const, error: null, language: event.language })),
        },
        CHANGE_IDENTIFIER: { target: 'needIdentifier', actions: assign({ pending: null, error: null }) },
      },
    },
    askOwnership: {
      tags: [REST_TAG],
      on: {
        MINE: { target: 'passwordEntry', actions: assign({ error: null }) },
        NOT_MINE: { target: 'confirmNew', actions: assign({ reason: 'refuted', error: null }) },
      },
    },
    passwordEntry: {
      tags: [REST_TAG],
      on: {
        PASSWORD: 'checkingPassword',
        NOT_MINE: { target: 'confirmNew', actions: assign({ reason: 'refuted', error: null }) },
        FORGOT: 'sendingRecoveryCode',
      },
    },
    checkingPassword: {
      invoke: {
        src: 'checkPassword',
        input: ({ context, event }) => ({
          userId: context.matchUserId,
          memberId: context.matchMemberId,
          identifier: context.identifier!,
          password: event.type === 'PASSWORD' ? event.password : '',
          otp: event.type === 'PASSWORD' ? event.otp : null,
        }),
        onDone: [
          { guard: ({ event }) => event.output === 'valid', target: 'applying', actions: assign({ decision: 'claim', reason: 'claimed', error: null }) },
          // The app was set up after the lookup, or the code was left out: ask for it, not a try.
          {
            guard: ({ event }) => event.output === 'second-factor-required',
            target: 'passwordEntry',
            actions: assign({ secondFactor: true, error: 'code-required' }),
          },
          // The second wrong one: nothing is closed yet; the confirmation page says what would be.
          {
            guard: ({ context }) => context.passwordTries + 1 >= MAX_PASSWORD_TRIES,
            target: 'confirmNew',
            actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, reason: 'password-tries', error: 'password-wrong' }),
          },
          { target: 'passwordEntry', actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, error: 'password-wrong' }) },
        ],
        // Keycloak down: not a try; the person is asked to try again.
        onError: { target: 'passwordEntry', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    // Before a "new" closes (or takes the identifier from) the matched holder: what will happen, and
    // the person's yes. Back: to the question after a refute; after two wrong passwords only the recovery.
    confirmNew: {
      tags: [REST_TAG],
      on: {
        CONFIRM: { target: 'applying', actions: assign(({ event }) => ({ decision: 'new' as const, error: null, language: event.language })) },
        BACK: { guard: 'refuted', target: 'askOwnership', actions: assign({ reason: null, error: null }) },
        FORGOT: { guard: 'triesUsed', target: 'sendingRecoveryCode' },
      },
    },
    sendingRecoveryCode: {
      invoke: {
        src: 'sendCode',
        input: ({ context, event }) => ({ identifier: context.identifier!, purpose: 'recovery' as const, ip: ipOf(event), language: languageOf(event) }),
        onDone: { target: 'recoveryCode', actions: assign({ error: null, retryAfterSeconds: null }) },
        // A cooldown or a failed delivery: the code page says so (an earlier code still works) and offers another.
        onError: { target: 'recoveryCode', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    recoveryCode: {
      tags: [REST_TAG],
      on: {
        CODE: 'verifyingRecoveryCode',
        RESEND: 'sendingRecoveryCode',
        BACK: [
          { guard: 'triesUsed', target: 'confirmNew', actions: assign({ error: null, retryAfterSeconds: null }) },
          { target: 'passwordEntry', actions: assign({ error: null, retryAfterSeconds: null }) },
        ],
      },
    },
    verifyingRecoveryCode: {
      invoke: {
        src: 'verifyCode',
        input: ({ context, event }) => ({
          identifier: context.identifier!,
          purpose: 'recovery' as const,
          code: event.type === 'CODE' ? event.code : '',
          ip: ipOf(event),
        }),
        onDone: [
          // An upstream-only member has no password here to set: the code claims it (the state signs them in).
          { guard: 'isMember', target: 'applying', actions: assign({ decision: 'claim', reason: 'recovered', error: null, retryAfterSeconds: null }) },
          { target: 'newPassword', actions: assign({ error: null, retryAfterSeconds: null }) },
        ],
        onError: { target: 'recoveryCode', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    // The code proved the account (persisted here): its new password, then the claim.
    newPassword: {
      tags: [REST_TAG],
      on: {
        NEW_PASSWORD: 'settingPassword',
        BACK: [
          { guard: 'triesUsed', target: 'confirmNew', actions: assign({ error: null }) },
          { target: 'passwordEntry', actions: assign({ error: null }) },
        ],
      },
    },
    settingPassword: {
      invoke: {
        src: 'setNewPassword',
        input: ({ context, event }) => ({
          userId: context.matchUserId!,
          identifier: context.identifier!,
          password: event.type === 'NEW_PASSWORD' ? event.password : '',
          otp: event.type === 'NEW_PASSWORD' ? event.otp : null,
        }),
        onDone: [
          { guard: ({ event }) => event.output === 'valid', target: 'applying', actions: assign({ decision: 'claim', reason: 'recovered', error: null }) },
          // Saved, but the app's code was wrong: the new password with a new code, one try spent.
          { target: 'passwordEntry', actions: assign({ passwordTries: 1, error: 'recovered-code-wrong' }) },
        ],
        onError: { target: 'newPassword', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    // The person's last answer was given: migrate now, then say what was done before going back.
    applying: {
      invoke: {
        src: 'migrate',
        input: ({ context }) => migrationInput(context),
        onDone: { target: 'finished', actions: assign({ result: ({ event }) => event.output, error: null, retryAfterSeconds: null }) },
        // The decision is kept; the page offers "try again" (idempotent, nothing to answer twice).
        onError: { target: 'notApplied', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    notApplied: {
      tags: [REST_TAG],
      on: { RETRY: 'applying' },
    },
    finished: {
      tags: [REST_TAG],
      on: { COMPLETE: 'done' },
    },
    // Nothing was asked (no match, resume): Keycloak's completion migrates.
    decided: {
      tags: [REST_TAG],
      on: { COMPLETE: 'migrating' },
    },
    migrating: {
      invoke: {
        src: 'migrate',
        input: ({ context }) => migrationInput(context),
        onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
        // Unhandled on purpose: a dependency down rethrows from `send` (503, "try again"), the row
        // stays `decided`, and the retry runs the idempotent migration again.
      },
    },
    done: { type: 'final' },
  },
});

function migrationInput(context: StateClaimContext): MigrationInput {
  return {
    flowId: context.flowId,
    decision: context.decision!,
    reason: context.reason!,
    identifier: context.identifier,
    otherIdentifier: context.otherIdentifier,
    matchUserId: context.matchUserId,
    matchMemberId: context.matchMemberId,
    identity: context.identity,
    tenant: context.tenant,
    language: context.language,
  };
}

export type StateClaimMachine = typeof stateClaimMachine;
