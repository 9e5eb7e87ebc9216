import { assign, fromPromise, setup } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';

/**
 * Merging a second account of the same person into the signed-in one (issue 19 §3, seed 004 "manual
 * merge screens"; docs/decisions/0040-account-merge.md). Pure: every effect is an actor its wire.ts
 * provides.
 *
 *   proof --PASSWORD--> checkingPassword -> planning -> preview        the other account proven
 *   checkingPassword: wrong (or unknown login) -> proof (a try counted) | locked after MAX_PASSWORD_TRIES
 *                     the same account, one merged already, an app's code missing -> proof (not counted)
 *   preview --CONFIRM--> confirmed --RESUME--> merging (one step at a time) -> merged
 *   preview --CANCEL--> cancelled                                        nothing changed before CONFIRM
 *   merging: a step fails -> interrupted --RESUME--> merging (from the first step not done)
 *
 * The other account's id (`otherUserId`) is only ever set from the `checkPassword` actor, after
 * Keycloak accepted its password; no event carries an account id. `confirmed` rests before any step
 * runs, so a crash after the confirmation leaves a flow that a RESUME finishes; every step is
 * idempotent and recorded (`done`), so a resumed merge redoes nothing that would change the outcome.
 */
export const ACCOUNT_MERGE_KIND = 'account-merge';
export const ACCOUNT_MERGE_MACHINE_VERSION = 1;
/** Wrong passwords per flow; Keycloak's brute-force protection counts them too, per account. */
export const MAX_PASSWORD_TRIES = 3;

/** The merge's steps, in order. Each is idempotent and audited once (audit.ts). */
export const MERGE_STEPS = ['reserve', 'identifiers', 'links', 'partner-mappings', 'memberships', 'close', 'upstream', 'finish'] as const;
export type MergeStep = (typeof MERGE_STEPS)[number];

/**
 * What happens to one identifier of the other account (decision 0040, after decision 0021's rule):
 * `move`: the current account has none of its kind and takes it (proven as it was);
 * `replace`: the current account holds one unproven and the other's proven one replaces it (the
 *   unproven one goes to the current account's history);
 * `retire`: the current account keeps its own; the other's goes to the closed account's history.
 */
export interface PlannedIdentifier {
  kind: 'email' | 'phone';
  value: string;
  masked: string;
  proven: boolean;
  action: 'move' | 'replace' | 'retire';
  /** `replace`: the current account's value that gives way. */
  replaces?: string;
}

/** A sign-in link (Keycloak federated identity): `move`, or `keep` on the closed account (the current one has its own link to that provider). */
export interface PlannedLink {
  provider: string;
  subject: string;
  username: string;
  action: 'move' | 'keep';
}

/** A tenant (Keycloak organization): the current account joins it, or it stays with the closed account only. */
export interface PlannedMembership {
  alias: string;
  name: string;
  action: 'join' | 'keep';
}

/** What the merge will do, worked out on the server once the other account was proven. */
export interface MergePlan {
  other: { username: string; firstName: string | null; lastName: string | null; upstreamUserId: string | null };
  current: { username: string; upstreamUserId: string | null };
  identifiers: PlannedIdentifier[];
  links: PlannedLink[];
  /** Partner (DBP) user mappings of the other account: `appKey` and a count. */
  partnerMappings: { appKey: string; count: number }[];
  memberships: PlannedMembership[];
  /** The current account leaves the custodian tenant (it is in a state tenant after the merge). */
  leavesCustodian: boolean;
}

export type ProofError = 'password-wrong' | 'code-required' | 'same-account' | 'already-merged' | 'unavailable';

export type PasswordCheck =
  | { outcome: 'valid'; otherUserId: string }
  | { outcome: 'invalid' }
  | { outcome: 'second-factor-required' }
  | { outcome: 'same-account' }
  | { outcome: 'already-merged' };

export interface PasswordInput {
  userId: string;
  login: string;
  password: string;
  otp: string | null;
}

export interface StepInput {
  flowId: string;
  step: MergeStep;
  userId: string;
  otherUserId: string;
  plan: MergePlan;
}

export interface AccountMergeContext {
  flowId: string;
  /** The signed-in account the other one merges into. */
  userId: string;
  otherUserId: string | null;
  passwordTries: number;
  error: ProofError | null;
  plan: MergePlan | null;
  done: MergeStep[];
  failedStep: MergeStep | null;
  /** The failed step's error code (a DomainError code), never a message. */
  failure: string | null;
}

export interface AccountMergeInput {
  flowId: string;
  userId: string;
}

export type AccountMergeEvent =
  | { type: 'PASSWORD'; login: string; password: string; otp: string | null }
  | { type: 'CONFIRM' }
  | { type: 'CANCEL' }
  | { type: 'RESUME' };

const errorCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'INTERNAL';

const nextStep = (done: readonly MergeStep[]): MergeStep | null => MERGE_STEPS.find((s) => !done.includes(s)) ?? null;

export const accountMergeMachine = setup({
  types: {
    context: {} as AccountMergeContext,
    input: {} as AccountMergeInput,
    events: {} as AccountMergeEvent,
  },
  actors: {
    checkPassword: fromPromise<PasswordCheck, PasswordInput>(async () => {
      throw new Error('checkPassword not provided');
    }),
    plan: fromPromise<MergePlan, { userId: string; otherUserId: string }>(async () => {
      throw new Error('plan not provided');
    }),
    runStep: fromPromise<void, StepInput>(async () => {
      throw new Error('runStep not provided');
    }),
  },
  guards: {
    triesLeft: ({ context }) => context.passwordTries + 1 < MAX_PASSWORD_TRIES,
    allDone: ({ context }) => nextStep(context.done) === null,
  },
}).createMachine({
  id: ACCOUNT_MERGE_KIND,
  context: ({ input }) => ({
    flowId: input.flowId,
    userId: input.userId,
    otherUserId: null,
    passwordTries: 0,
    error: null,
    plan: null,
    done: [],
    failedStep: null,
    failure: null,
  }),
  initial: 'proof',
  states: {
    proof: {
      tags: [REST_TAG],
      on: {
        PASSWORD: { target: 'checkingPassword', actions: assign({ error: null }) },
        CANCEL: 'cancelled',
      },
    },
    checkingPassword: {
      invoke: {
        src: 'checkPassword',
        input: ({ context, event }) => {
          const e = event as Extract<AccountMergeEvent, { type: 'PASSWORD' }>;
          return { userId: context.userId, login: e.login, password: e.password, otp: e.otp };
        },
        onDone: [
          {
            guard: ({ event }) => event.output.outcome === 'valid',
            target: 'planning',
            actions: assign({ otherUserId: ({ event }) => (event.output.outcome === 'valid' ? event.output.otherUserId : null) }),
          },
          { guard: ({ event }) => event.output.outcome === 'second-factor-required', target: 'proof', actions: assign({ error: 'code-required' }) },
          { guard: ({ event }) => event.output.outcome === 'same-account', target: 'proof', actions: assign({ error: 'same-account' }) },
          { guard: ({ event }) => event.output.outcome === 'already-merged', target: 'proof', actions: assign({ error: 'already-merged' }) },
          { guard: 'triesLeft', target: 'proof', actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, error: 'password-wrong' }) },
          { target: 'locked', actions: assign({ passwordTries: ({ context }) => context.passwordTries + 1, error: 'password-wrong' }) },
        ],
        onError: { target: 'proof', actions: assign({ error: 'unavailable' }) },
      },
    },
    planning: {
      invoke: {
        src: 'plan',
        input: ({ context }) => ({ userId: context.userId, otherUserId: context.otherUserId! }),
        onDone: { target: 'preview', actions: assign({ plan: ({ event }) => event.output }) },
        // The proof stands; only the preview failed: the person sends the password again.
        onError: { target: 'proof', actions: assign({ otherUserId: null, error: 'unavailable' }) },
      },
    },
    preview: {
      tags: [REST_TAG],
      on: { CONFIRM: 'confirmed', CANCEL: 'cancelled' },
    },
    confirmed: {
      tags: [REST_TAG],
      on: { RESUME: 'merging' },
    },
    merging: {
      invoke: {
        src: 'runStep',
        input: ({ context }) => ({
          flowId: context.flowId,
          step: nextStep(context.done)!,
          userId: context.userId,
          otherUserId: context.otherUserId!,
          plan: context.plan!,
        }),
        onDone: { target: 'stepDone', actions: assign({ done: ({ context }) => [...context.done, nextStep(context.done)!] }) },
        onError: {
          target: 'interrupted',
          actions: assign({ failedStep: ({ context }) => nextStep(context.done), failure: ({ event }) => errorCode(event.error) }),
        },
      },
    },
    stepDone: {
      always: [
        { guard: 'allDone', target: 'merged' },
        { target: 'merging', reenter: true },
      ],
    },
    interrupted: {
      tags: [REST_TAG],
      on: { RESUME: { target: 'merging', actions: assign({ failedStep: null, failure: null }) } },
    },
    merged: { type: 'final' },
    cancelled: { type: 'final' },
    /** Out of password tries: this flow proves nothing more (a new one may start; Keycloak still counts per account). */
    locked: { type: 'final' },
  },
});

export type AccountMergeMachine = typeof accountMergeMachine;
