import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../../kernel/errors.ts';
import type { FlowDefinition, FlowRuntime, FlowView } from '../../kernel/flow/index.ts';
import type { Identifier } from '../../accounts/identifiers.ts';
import type { Language } from '../../kernel/languages.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { StateClaimAudit } from './audit.ts';
import type { IdentifierSeal } from './actors.ts';
import type { HandoffStore } from './handoffs.ts';
import type { StateClaimEvent, StateClaimMachine, StateIdentity } from './state-claim.machine.ts';

export type StateClaimView = FlowView<StateClaimMachine>;

export interface StartRequest {
  identity: StateIdentity;
  /** Keycloak's login session (root auth session id + tab id). */
  loginSession: string;
  /** Only an identifier the IdP asserted (its e-mail is trusted, `trustEmail`), normalised. */
  identifier: Identifier | null;
  /** A phone the IdP asserted besides its e-mail. */
  otherIdentifier?: Identifier | null;
  returnUrl: string;
  /** Keycloak's language of the login, when it is one of ours (a new account's `locale`). */
  language?: Language | null;
}

export interface CompleteRequest {
  handoffId: string;
  loginSession: string;
  identityProvider: string;
  brokeredUserId: string;
}

export interface StateClaimServiceDeps {
  runtime: FlowRuntime;
  flow: FlowDefinition<StateClaimMachine>;
  handoffs: HandoffStore;
  audit: StateClaimAudit;
  seal: IdentifierSeal;
  locks: EphemeralStore;
  /** IdP alias -> Keycloak organization alias of its state tenant. */
  tenants: Record<string, string>;
}

/**
 * The claim flow's use cases: thin over FlowRuntime (persisted machine), the handoff store and the
 * audit. One step per flow at a time (a lock in Redis), on top of the runtime's optimistic lock, so a
 * double submit cannot spend two password tries on one counted try.
 */
export class StateClaimService {
  readonly #d: StateClaimServiceDeps;

  constructor(deps: StateClaimServiceDeps) {
    this.#d = deps;
  }

  async start(req: StartRequest): Promise<StateClaimView> {
    const tenant = this.#d.tenants[req.identity.identityProvider];
    if (!tenant) {
      throw new DomainError('VALIDATION_FAILED', 'This identity provider has no state tenant', {
        fields: [{ field: 'identityProvider', reason: 'unknown', message: 'Not a state identity provider of this platform' }],
      });
    }
    const identifier = req.identifier ? this.#d.seal.seal(req.identifier) : null;
    const otherIdentifier = req.otherIdentifier ? this.#d.seal.seal(req.otherIdentifier) : null;
    const flowId = randomUUID();
    const view = await this.#d.runtime.create(
      this.#d.flow,
      {
        flowId,
        identity: req.identity,
        loginSession: sessionHash(req.loginSession),
        returnUrl: req.returnUrl,
        tenant,
        identifier,
        otherIdentifier,
        language: req.language ?? null,
      },
      { id: flowId },
    );
    await this.#audit(view, 'started', 'ok', identifier ? 'identifier from the identity provider' : 'identifier to verify');
    await this.#auditArrival(null, view);
    return view;
  }

  get(flowId: string): Promise<StateClaimView> {
    return this.#d.runtime.get(this.#d.flow, flowId);
  }

  /** One step from the person's pages. Events are built by the routes, never taken from the body as is. */
  async step(flowId: string, event: Exclude<StateClaimEvent, { type: 'COMPLETE' }>): Promise<StateClaimView> {
    return this.#locked(flowId, async () => {
      const before = await this.get(flowId);
      const view = await this.#d.runtime.send(this.#d.flow, flowId, event);
      const { error } = view.snapshot.context;
      await this.#audit(view, `step:${event.type.toLowerCase()}`, error ? 'refused' : 'ok', `${before.state}->${view.state}${error ? ` (${error})` : ''}`);
      await this.#auditArrival(before, view);
      return view;
    });
  }

  /**
   * What the look-up found, and the decision, when a flow arrives at them: who holds the identifier
   * (decision 0011's table) is a decision too. `before` null: the flow was just created.
   */
  async #auditArrival(before: StateClaimView | null, view: StateClaimView): Promise<void> {
    type Audited = 'askOwnership' | 'heldElsewhere' | 'closedHolder' | 'confirmNew' | 'decided' | 'notApplied' | 'finished';
    const arrived = (state: Audited) => view.snapshot.matches(state) && !before?.snapshot.matches(state);
    const c = view.snapshot.context;
    if (arrived('askOwnership') && !before?.snapshot.matches('confirmNew'))
      await this.#audit(view, 'match-found', 'ok', c.matchMemberId ? `upstream-only member ${c.matchMemberId}` : 'custodian account');
    if (arrived('heldElsewhere')) await this.#audit(view, 'held-elsewhere', 'ok', 'an enabled account of another tenant holds it proven: no claim');
    if (arrived('closedHolder')) await this.#audit(view, 'closed-holder', 'ok', 'only closed holders (disabled accounts, inactive members) hold it');
    if (arrived('confirmNew'))
      await this.#audit(view, 'confirmation-asked', 'ok', `new:${c.reason} (${c.matchCloses ? 'closes' : 'takes the identifier from'} the holder)`);
    if (arrived('decided')) await this.#audit(view, 'decided', 'ok');
    // Migrated within the step (the person's last answer): the decision, who lost the identifier, the migration.
    if (arrived('notApplied')) await this.#audit(view, 'migration-failed', 'failed', `${c.decision}:${c.reason} (${c.error})`);
    if (arrived('finished')) {
      if (!before?.snapshot.matches('notApplied')) await this.#audit(view, 'decided', 'ok');
      await this.#auditMigration(view);
    }
  }

  /** Each holder that lost the identifier to the new account, then the migration itself. */
  async #auditMigration(view: StateClaimView): Promise<void> {
    const c = view.snapshot.context;
    for (const holder of c.result?.released ?? []) {
      const [kind, id] = holder.split(':') as [string, string];
      await this.#audit(
        view,
        'identifier-released',
        'ok',
        kind === 'account' ? 'disabled account: identifier retired' : `upstream profile ${id}: identifier cleared`,
        undefined,
        kind === 'account' ? id : null,
      );
    }
    await this.#audit(view, 'migrated', 'ok', `${c.decision}:${c.reason}`);
  }

  /** A fresh handoff for a decided or migrated flow: the browser carries only its id back to Keycloak. */
  async issueHandoff(view: StateClaimView): Promise<string> {
    if (!view.snapshot.matches('decided') && !view.snapshot.matches('finished')) throw new DomainError('CONFLICT', 'The flow has not decided yet');
    const { identifier, identity } = view.snapshot.context;
    const id = await this.#d.handoffs.issue(view.id, {
      identifier: identifier ? this.#d.seal.open(identifier) : null,
      identityProvider: identity.identityProvider,
      brokeredUserId: identity.brokeredUserId,
    });
    await this.#audit(view, 'handoff-issued', 'ok');
    return id;
  }

  /**
   * Called by Keycloak with the handoff the browser brought back and the identity of ITS login
   * session. Refuses (and audits) a handoff that is unknown, expired, used, altered, of another flow
   * or of another person; then migrates once, idempotently (a flow the person's last step migrated
   * already only moves to `done`), and consumes the handoff.
   */
  async complete(flowId: string, req: CompleteRequest): Promise<{ userId: string; created: boolean; outcome: string }> {
    const view = await this.get(flowId);
    const { identity } = view.snapshot.context;
    const person = { identityProvider: req.identityProvider, brokeredUserId: req.brokeredUserId };
    try {
      if (identity.identityProvider !== person.identityProvider || identity.brokeredUserId !== person.brokeredUserId) {
        throw new DomainError('VALIDATION_FAILED', 'The flow belongs to another person', {
          fields: [{ field: 'brokeredUserId', reason: 'other_person', message: 'The flow belongs to another person' }],
        });
      }
      // Bound to the login session that started it: a handoff carried into another session is a replay.
      if (view.snapshot.context.loginSession !== sessionHash(req.loginSession)) {
        throw new DomainError('VALIDATION_FAILED', 'The flow belongs to another login session', {
          fields: [{ field: 'loginSession', reason: 'other_session', message: 'The flow belongs to another login session' }],
        });
      }
      if (view.snapshot.status === 'done') {
        // The same session asking again with the handoff that completed it: Keycloak lost the answer
        // (a timeout, a restart). It gets the same answer; nothing runs again.
        const result = view.snapshot.context.result;
        if (result && (await this.#d.handoffs.completed(flowId, req.handoffId))) {
          const outcome = `${view.snapshot.context.decision}:${view.snapshot.context.reason}`;
          await this.#audit(view, 'completion-repeated', 'ok', outcome);
          return { userId: result.userId, created: result.created, outcome };
        }
        // Any other handoff of it (a reloaded page makes a fresh one) is spent with the flow.
        throw new DomainError('VALIDATION_FAILED', 'This sign-in was completed already', {
          fields: [{ field: 'handoffId', reason: 'used', message: 'The flow was completed already' }],
        });
      }
      await this.#d.handoffs.redeem(flowId, req.handoffId, person);
    } catch (err) {
      const reason = err instanceof DomainError ? (err.fields[0]?.reason ?? String(err.details.reason ?? err.code)) : 'error';
      await this.#audit(view, 'handoff-refused', 'refused', reason, person);
      throw err;
    }
    const migrated = view.snapshot.matches('finished');
    let done: StateClaimView;
    try {
      done = await this.#d.runtime.send(this.#d.flow, flowId, { type: 'COMPLETE' });
    } catch (err) {
      await this.#d.handoffs.release(req.handoffId);
      const why = err instanceof DomainError ? [err.code, ...err.fields.map((f) => `${f.field}:${f.reason}`)].join(' ') : 'error';
      await this.#audit(view, 'migration-failed', 'failed', why);
      throw err;
    }
    const result = done.snapshot.context.result;
    if (!result) throw new DomainError('CONFLICT', 'The flow has not decided yet');
    await this.#d.handoffs.consume(req.handoffId);
    const outcome = `${done.snapshot.context.decision}:${done.snapshot.context.reason}`;
    // A flow that was still `decided` migrated just now; a `finished` one did at the person's last step.
    if (!migrated) await this.#auditMigration(done);
    await this.#audit(done, 'completed', 'ok', outcome);
    return { userId: result.userId, created: result.created, outcome };
  }

  async #locked<T>(flowId: string, work: () => Promise<T>): Promise<T> {
    const key = `state-claim:lock:${flowId}`;
    const token = randomUUID();
    if (!(await this.#d.locks.setIfAbsent(key, token, ttlSeconds(30)))) {
      throw new DomainError('FLOW_CONFLICT', 'This step is already being processed; reload the page.');
    }
    try {
      return await work();
    } finally {
      await this.#d.locks.deleteIfEquals(key, token);
    }
  }

  /** `holderUserId`: the account the record is about when not the matched one (a released closed holder). */
  async #audit(
    view: StateClaimView,
    event: string,
    outcome: 'ok' | 'refused' | 'failed',
    detail?: string,
    person?: { identityProvider: string; brokeredUserId: string },
    holderUserId?: string | null,
  ): Promise<void> {
    const c = view.snapshot.context;
    const sealed = c.identifier ?? c.pending;
    const identifier = sealed ? { value: this.#d.seal.open(sealed).value, masked: sealed.masked } : null;
    await this.#d.audit.record({
      flowId: view.id,
      event,
      outcome,
      identityProvider: person?.identityProvider ?? c.identity.identityProvider,
      brokeredUserId: person?.brokeredUserId ?? c.identity.brokeredUserId,
      identifier,
      custodianUserId: holderUserId !== undefined ? holderUserId : c.matchUserId,
      resultUserId: c.result?.userId ?? null,
      detail: event === 'decided' ? `${c.decision}:${c.reason}` : (detail ?? null),
    });
  }
}

const sessionHash = (loginSession: string) => createHash('sha256').update(loginSession).digest('base64url');
