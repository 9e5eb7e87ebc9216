import { assign, fromPromise, setup } from 'xstate';
import { REST_TAG } from '../../kernel/flow/index.ts';
import type { Language } from '../../kernel/languages.ts';

/**
 * Sign-in from a state portal link (issue 19 §1, seed 002 "State sign-in", decision 0039). Pure: every
 * effect is an actor its wire.ts provides. The link was verified before the flow starts (its jti
 * spent); the flow holds what it said (the snapshot is sealed by the runtime).
 *
 *   lookingUp -> ready                    found in the state's tenant, enabled, this phone verified
 *   lookingUp -> needsCode(verify-phone)  found, the phone not verified (seed 002 case 2)
 *   lookingUp -> needsCode(new)           nobody: an account is made after the code
 *   lookingUp -> claim                    a custodian account holds the phone proven: the claim (Flow 2)
 *   lookingUp -> refused                  a closed (disabled) account, or one of another state
 *   ready     --ARRIVE(Keycloak's session)--> signingIn -> done (a sign-in ticket for that session)
 *   needsCode --ARRIVE--> sendingCode -> codeSent --CODE--> verifying -> signingIn -> done
 *   codeSent  --RESEND--> sendingCode;  a wrong code, a wait: codeSent with `error`
 *
 * The account (`userId`) is only ever set by `lookup` or `verifyAndApply`, on the server; no event
 * carries an account id. ARRIVE carries Keycloak's authentication session (client, tab) that the
 * ticket is minted for; the ticket itself is the sign-up's (decision 0027).
 */
export const STATE_LINK_KIND = 'state-link';
export const STATE_LINK_MACHINE_VERSION = 1;

export type Mode = 'verify-phone' | 'new';
export type Refusal = 'closed' | 'elsewhere' | 'mismatch' | 'no-claim';
export type StepError = 'code-invalid' | 'rate-limited' | 'delivery-failed' | 'taken' | 'unavailable';

/** Keycloak's authentication session the person is signed into (sign-up/return-url.ts' RestartTarget). */
export interface SessionTarget {
  clientId: string;
  tabId: string;
  clientData?: string;
}

export interface StateLinkInput {
  flowId: string;
  tenant: string;
  identityProvider: string | null;
  stateUserId: string;
  name: string;
  /** E.164, from the verified link. */
  phone: string;
  language: Language;
}

export interface StateLinkContext extends StateLinkInput {
  userId: string | null;
  mode: Mode | null;
  refusal: Refusal | null;
  target: SessionTarget | null;
  error: StepError | null;
  retryAfterSeconds: number | null;
  /** Keycloak's continue URL with the sign-in ticket, once done. */
  continueUrl: string | null;
  /** What was done, for the audit and the tests: signed-in, phone-verified, created. */
  outcome: 'signed-in' | 'phone-verified' | 'created' | null;
}

export type StateLinkEvent =
  | { type: 'ARRIVE'; target: SessionTarget; ip: string }
  | { type: 'CODE'; code: string; ip: string }
  | { type: 'RESEND'; ip: string };

/** What the look-up found (decision 0039's table). */
export type LookupResult =
  | { kind: 'signed-in'; userId: string }
  | { kind: 'verify-phone'; userId: string }
  | { kind: 'new' }
  | { kind: 'claim' }
  | { kind: 'refused'; refusal: Refusal };

export interface ApplyInput {
  mode: Mode;
  userId: string | null;
  code: string;
  ip: string;
  tenant: string;
  stateUserId: string;
  name: string;
  phone: string;
  language: Language;
}

/** An effect's refusal the page shows (a wrong code, a wait); anything else is `unavailable`. */
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
    throw new Error(`state-link actor ${name} is not provided`);
  });

const failure = (e: unknown) =>
  e instanceof StepFailure ? { error: e.step, retryAfterSeconds: e.retryAfterSeconds } : { error: 'unavailable' as const, retryAfterSeconds: null };

const ipOf = (event: StateLinkEvent) => ('ip' in event ? event.ip : '');

export const stateLinkMachine = setup({
  types: {} as { context: StateLinkContext; events: StateLinkEvent; input: StateLinkInput },
  actors: {
    /** Who the link's person is here: by the state's id in its tenant, else by the phone (decision 0039). */
    lookup: notImplemented('lookup') as unknown as ReturnType<typeof fromPromise<LookupResult, { tenant: string; stateUserId: string; phone: string }>>,
    sendCode: notImplemented('sendCode') as unknown as ReturnType<typeof fromPromise<void, { phone: string; language: Language; ip: string }>>,
    /** Checks the code, then marks the phone verified (verify-phone) or creates the account (new). */
    verifyAndApply: notImplemented('verifyAndApply') as unknown as ReturnType<typeof fromPromise<{ userId: string }, ApplyInput>>,
    /** A sign-in ticket for the account in Keycloak's session: Keycloak's continue URL. */
    signIn: notImplemented('signIn') as unknown as ReturnType<typeof fromPromise<{ continueUrl: string }, { userId: string; target: SessionTarget }>>,
  },
}).createMachine({
  id: 'state-link',
  context: ({ input }) => ({
    ...input,
    userId: null,
    mode: null,
    refusal: null,
    target: null,
    error: null,
    retryAfterSeconds: null,
    continueUrl: null,
    outcome: null,
  }),
  initial: 'lookingUp',
  states: {
    lookingUp: {
      invoke: {
        src: 'lookup',
        input: ({ context }) => ({ tenant: context.tenant, stateUserId: context.stateUserId, phone: context.phone }),
        onDone: [
          {
            guard: ({ event }) => event.output.kind === 'signed-in',
            target: 'ready',
            actions: assign({ userId: ({ event }) => ('userId' in event.output ? event.output.userId : null) }),
          },
          {
            guard: ({ event }) => event.output.kind === 'verify-phone',
            target: 'needsCode',
            actions: assign({ mode: 'verify-phone', userId: ({ event }) => ('userId' in event.output ? event.output.userId : null) }),
          },
          { guard: ({ event }) => event.output.kind === 'new', target: 'needsCode', actions: assign({ mode: 'new' }) },
          { guard: ({ event, context }) => event.output.kind === 'claim' && context.identityProvider !== null, target: 'claim' },
          { guard: ({ event }) => event.output.kind === 'claim', target: 'refused', actions: assign({ refusal: 'no-claim' }) },
          { target: 'refused', actions: assign({ refusal: ({ event }) => ('refusal' in event.output ? event.output.refusal : 'closed') }) },
        ],
        onError: { target: 'failed', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    ready: {
      tags: [REST_TAG],
      on: { ARRIVE: { target: 'signingIn', actions: assign({ target: ({ event }) => event.target }) } },
    },
    needsCode: {
      tags: [REST_TAG],
      on: { ARRIVE: { target: 'sendingCode', actions: assign({ target: ({ event }) => event.target }) } },
    },
    sendingCode: {
      invoke: {
        src: 'sendCode',
        input: ({ context, event }) => ({ phone: context.phone, language: context.language, ip: ipOf(event) }),
        onDone: { target: 'codeSent', actions: assign({ error: null, retryAfterSeconds: null }) },
        onError: { target: 'codeSent', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    codeSent: {
      tags: [REST_TAG],
      on: {
        CODE: 'verifying',
        RESEND: 'sendingCode',
        // The same person back from Keycloak again (a reload, the back button): the newest session counts, the code stays.
        ARRIVE: { target: 'codeSent', actions: assign({ target: ({ event }) => event.target, error: null, retryAfterSeconds: null }) },
      },
    },
    verifying: {
      invoke: {
        src: 'verifyAndApply',
        input: ({ context, event }) => ({
          mode: context.mode!,
          userId: context.userId,
          code: event.type === 'CODE' ? event.code : '',
          ip: ipOf(event),
          tenant: context.tenant,
          stateUserId: context.stateUserId,
          name: context.name,
          phone: context.phone,
          language: context.language,
        }),
        onDone: {
          target: 'signingIn',
          actions: assign({
            userId: ({ event }) => event.output.userId,
            outcome: ({ context }) => (context.mode === 'new' ? 'created' : 'phone-verified'),
            error: null,
            retryAfterSeconds: null,
          }),
        },
        onError: { target: 'codeSent', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    signingIn: {
      invoke: {
        src: 'signIn',
        input: ({ context }) => ({ userId: context.userId!, target: context.target! }),
        onDone: {
          target: 'done',
          actions: assign({ continueUrl: ({ event }) => event.output.continueUrl, outcome: ({ context }) => context.outcome ?? 'signed-in' }),
        },
        onError: { target: 'failed', actions: assign(({ event }) => failure(event.error)) },
      },
    },
    done: { type: 'final', tags: [REST_TAG] },
    claim: { type: 'final', tags: [REST_TAG] },
    refused: { type: 'final', tags: [REST_TAG] },
    failed: { type: 'final', tags: [REST_TAG] },
  },
});

export type StateLinkMachine = typeof stateLinkMachine;
