import { randomUUID } from 'node:crypto';
import { DomainError } from '../../kernel/errors.ts';
import type { FlowDefinition, FlowRuntime, FlowView } from '../../kernel/flow/index.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { MergeAudit } from './audit.ts';
import type { AccountMergeEvent, AccountMergeMachine } from './account-merge.machine.ts';

export type AccountMergeView = FlowView<AccountMergeMachine>;

export interface AccountMergeServiceDeps {
  runtime: FlowRuntime;
  flow: FlowDefinition<AccountMergeMachine>;
  audit: MergeAudit;
  locks: EphemeralStore;
}

/**
 * The merge's use cases over the flow runtime. Every call names the signed-in account: a flow is only
 * ever seen or continued by the account that started it (another account's flow id is NOT_FOUND).
 * One step per flow at a time (a lock in Redis) on top of the runtime's optimistic lock, so a double
 * submit cannot spend two password tries, or run the steps twice side by side.
 */
export class AccountMergeService {
  readonly #d: AccountMergeServiceDeps;

  constructor(deps: AccountMergeServiceDeps) {
    this.#d = deps;
  }

  async start(userId: string): Promise<AccountMergeView> {
    const flowId = randomUUID();
    const view = await this.#d.runtime.create(this.#d.flow, { flowId, userId }, { id: flowId });
    await this.#audit(view, 'started', 'ok');
    return view;
  }

  async get(userId: string, flowId: string): Promise<AccountMergeView> {
    const view = await this.#d.runtime.get(this.#d.flow, flowId);
    if (view.snapshot.context.userId !== userId) throw new DomainError('NOT_FOUND', 'No such merge', { details: { kind: this.#d.flow.kind } });
    return view;
  }

  /** The other account's password (the route counts refused ones per IP). */
  async password(userId: string, flowId: string, event: Extract<AccountMergeEvent, { type: 'PASSWORD' }>): Promise<AccountMergeView> {
    return this.#step(userId, flowId, event, async (view) => {
      const { error, passwordTries } = view.snapshot.context;
      if (view.snapshot.matches('preview')) await this.#audit(view, 'proven', 'ok', 'password');
      else await this.#audit(view, 'proof-refused', 'refused', `${error ?? 'error'} (tries ${passwordTries})`);
      if (view.snapshot.matches('locked')) await this.#audit(view, 'locked', 'refused', 'out of password tries');
    });
  }

  /**
   * The person confirmed what the preview showed: the confirmation is stored first (`confirmed`), then
   * the steps run. A crash between the two, or in a step, leaves a flow that `resume` finishes.
   */
  async confirm(userId: string, flowId: string): Promise<AccountMergeView> {
    const confirmed = await this.#step(userId, flowId, { type: 'CONFIRM' }, (view) => this.#audit(view, 'confirmed', 'ok'));
    if (!confirmed.snapshot.matches('confirmed')) return confirmed;
    return this.resume(userId, flowId);
  }

  /** Runs the steps not done yet of a confirmed or interrupted merge; a merged one answers as it is. */
  async resume(userId: string, flowId: string): Promise<AccountMergeView> {
    const before = await this.get(userId, flowId);
    if (before.snapshot.status !== 'active') return before;
    if (before.snapshot.matches('interrupted')) await this.#audit(before, 'resumed', 'ok', `from ${before.snapshot.context.failedStep}`);
    return this.#step(userId, flowId, { type: 'RESUME' }, async (view) => {
      const c = view.snapshot.context;
      if (view.snapshot.matches('interrupted')) await this.#audit(view, 'interrupted', 'failed', `${c.failedStep}: ${c.failure}`);
      if (view.snapshot.matches('merged')) await this.#audit(view, 'merged', 'ok', `${c.done.length} steps`);
    });
  }

  async cancel(userId: string, flowId: string): Promise<AccountMergeView> {
    return this.#step(userId, flowId, { type: 'CANCEL' }, (view) => this.#audit(view, 'cancelled', 'ok'));
  }

  async #step(userId: string, flowId: string, event: AccountMergeEvent, after: (view: AccountMergeView) => Promise<void>): Promise<AccountMergeView> {
    const before = await this.get(userId, flowId);
    const key = `account-merge:lock:${flowId}`;
    const token = randomUUID();
    if (!(await this.#d.locks.setIfAbsent(key, token, ttlSeconds(30)))) {
      throw new DomainError('FLOW_CONFLICT', 'This merge is already being worked on; reload it.');
    }
    try {
      const view = await this.#d.runtime.send(this.#d.flow, flowId, event);
      // A finished flow answers a later step with its final view and saves nothing: nothing to audit again.
      if (view.version !== before.version) await after(view);
      return view;
    } finally {
      await this.#d.locks.deleteIfEquals(key, token);
    }
  }

  async #audit(view: AccountMergeView, event: string, outcome: 'ok' | 'refused' | 'failed', detail?: string): Promise<void> {
    const c = view.snapshot.context;
    await this.#d.audit.record({ flowId: view.id, event, outcome, userId: c.userId, otherUserId: c.otherUserId, detail: detail ?? null });
  }
}
