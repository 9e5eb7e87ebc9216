import { randomUUID } from 'node:crypto';
import {
  createActor,
  waitFor,
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventFromLogic,
  type InputFrom,
  type Snapshot,
  type SnapshotFrom,
} from 'xstate';
import { bindSeal, type BoundSeal } from '../crypto/bound-seal.ts';
import type { FieldEncryption } from '../crypto/field-encryption.ts';
import { DomainError, type ErrorCode } from '../errors.ts';
import type { FlowStore, StoredFlow } from './flow-store.ts';
import { expiryFrom, findNonJsonValue, isAtRest, isExpired, stateValueToString } from './flow-state.ts';

/**
 * What the runtime needs to know about one kind of flow. The flow's folder owns `kind`,
 * `machineVersion` and the pure machine; its `wire.ts` passes the machine through
 * `.provide({ actors })` with the real effects and the TTL from configuration.
 */
export interface FlowDefinition<TMachine extends AnyStateMachine> {
  /** Stable name stored with the flow, e.g. `claim`; a flow is only ever continued as its own kind. */
  kind: string;
  /**
   * Bump it whenever a persisted snapshot of the old machine could not be restored into the new one
   * (states renamed or removed, context reshaped). Flows of another version fail with FLOW_OUTDATED and
   * the client starts over; there is no snapshot migration.
   */
  machineVersion: number;
  machine: TMachine;
  /** Lifetime of a new flow; fixed at creation, not extended by later steps. */
  ttlSeconds: number;
  /**
   * What becomes of a flow once its machine is done. `keep` (default): it stays until it expires and
   * answers every later step with its final view, so a client retrying a lost response sees the same
   * outcome. `delete`: it is deleted at once (a flow done at creation is never stored), and every later
   * step is NOT_FOUND: for a flow whose id is a credential used once, or whose data must not outlive it.
   */
  whenDone?: 'keep' | 'delete';
  /**
   * `false` stores the snapshot as it is instead of sealed (decision 0022). Only for a hot flow whose
   * context holds nothing personal but values it seals itself: the partner enrollment, on every
   * partner POST and GET, keeps ids and its PII sealed on its own (bound to the token); sealing the
   * whole snapshot once more added about 20 µs of CPU to each POST (measured in-process: a third more
   * for the flow's part, some 8 % of the whole request).
   */
  sealSnapshot?: boolean;
}

export function defineFlow<TMachine extends AnyStateMachine>(definition: FlowDefinition<TMachine>): FlowDefinition<TMachine> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(definition.kind)) {
    throw new RangeError(`flow kind "${definition.kind}" must be lowercase letters, digits, _ . - (at most 64)`);
  }
  if (definition.whenDone !== undefined && definition.whenDone !== 'keep' && definition.whenDone !== 'delete') {
    throw new RangeError(`flow ${definition.kind}: whenDone must be keep or delete`);
  }
  if (!Number.isInteger(definition.machineVersion) || definition.machineVersion < 1) {
    throw new RangeError(`flow ${definition.kind}: machineVersion must be a whole number >= 1`);
  }
  expiryFrom(new Date(0), definition.ttlSeconds); // validates the TTL
  return definition;
}

/** The flow as a route handler sees it after a step: what the store keeps about it plus the machine's snapshot. */
export interface FlowView<TMachine extends AnyStateMachine> {
  id: string;
  kind: string;
  /** The state as stored, see `stateValueToString`. */
  state: string;
  /** The version now stored (1 after create, +1 per step); a deleted flow's is the one it would have had. */
  version: number;
  expiresAt: Date;
  /** Typed snapshot: `matches()`, `hasTag()`, `context`, `status`, `output`. Render views from this. */
  snapshot: SnapshotFrom<TMachine>;
}

/** One step of `FlowRuntime.step`: the event to send, and what must happen before its result is kept. */
export interface FlowStep<TMachine extends AnyStateMachine> {
  event: EventFromLogic<TMachine>;
  /**
   * Runs once the machine came to rest, before the result is saved (an audit row every kept step must
   * have): a throw saves nothing, as a failed effect does.
   */
  beforeSave?: (snapshot: SnapshotFrom<TMachine>) => Promise<void>;
}

/**
 * An error of the runtime itself, not of a flow's effects: the flow is unknown, expired, outdated, in
 * a state that does not take the event, or busy with another step. A route whose contract has fewer
 * answers (the partner API knows 404 and 409) tells these apart from its effects' errors by this class.
 */
export class FlowError extends DomainError {
  constructor(
    code: Extract<ErrorCode, 'NOT_FOUND' | 'FLOW_EXPIRED' | 'FLOW_OUTDATED' | 'CONFLICT' | 'FLOW_CONFLICT'>,
    message: string,
    details: Record<string, unknown>,
  ) {
    super(code, message, { details });
    this.name = 'FlowError';
  }
}

export interface FlowRuntimeDependencies {
  /** Where flows are kept between requests: `PostgresFlowStore`, or `RedisFlowStore` for short-lived flows. */
  store: FlowStore;
  /**
   * Seals every persisted snapshot (decision 0022): a flow's context holds what the person told us
   * (a state identity's names and ids, identifiers), so the store holds it only as AES-256-GCM bound
   * to the flow's id and kind.
   */
  encryption: FieldEncryption;
  now?: () => Date;
  newId?: () => string;
  /**
   * How long a step may take to come to rest (its effects included) before it is abandoned without
   * persisting. Effects must time out well before this (adapters have their own, shorter timeouts).
   * Shorter than the store's `holdMs`, so a step never outlives its lock.
   */
  settleTimeoutMs?: number;
}

/**
 * Runs persisted XState flows. Each request restores the actor from the store, sends one typed event,
 * waits until the machine is at rest (see `REST_TAG`), saves the new snapshot (one step at a time wins:
 * see `FlowStore`), and stops the actor. Nothing stays in memory between requests, so any BFF process
 * can serve the next step and a restart loses nothing that was persisted.
 *
 * Effects must be idempotent. A step whose save loses the race (FLOW_CONFLICT), times out, or whose
 * process dies before persisting has already run its effects, and the retried step runs them again.
 * Likewise, an invoked promise actor still running when a rest state was persisted is started again
 * when the flow is next restored (XState restarts active promise actors on restore).
 */
export class FlowRuntime {
  readonly #store: FlowStore;
  readonly #snapshots: BoundSeal<Snapshot<unknown>, [id: string, kind: string]>;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #settleTimeoutMs: number;

  constructor(dependencies: FlowRuntimeDependencies) {
    this.#store = dependencies.store;
    // The store's value is `{ sealed }`, bound to the flow: a snapshot copied to another flow does not open there.
    this.#snapshots = bindSeal<Snapshot<unknown>, [id: string, kind: string]>(dependencies.encryption, 'json', (id, kind) => `flow:${id}:${kind}:snapshot`);
    this.#now = dependencies.now ?? (() => new Date());
    this.#newId = dependencies.newId ?? randomUUID;
    this.#settleTimeoutMs = dependencies.settleTimeoutMs ?? 10_000;
    const holdMs = dependencies.store.holdMs;
    if (holdMs !== undefined && this.#settleTimeoutMs >= holdMs) {
      throw new RangeError(`settleTimeoutMs (${this.#settleTimeoutMs}) must be shorter than the store's hold (${holdMs} ms)`);
    }
  }

  /**
   * Starts a new flow with `input`, runs it to its first rest state and stores it. `id`: the caller's
   * id for it (the partner flow's is its authToken's hash); a new UUID by default.
   */
  async create<TMachine extends AnyStateMachine>(
    definition: FlowDefinition<TMachine>,
    input: InputFrom<TMachine>,
    options: { id?: string; ttlSeconds?: number } = {},
  ): Promise<FlowView<TMachine>> {
    const now = this.#now();
    const expiresAt = expiryFrom(now, options.ttlSeconds ?? definition.ttlSeconds);
    const id = options.id ?? this.#newId();
    const actor = createActor(definition.machine as AnyStateMachine, { input });
    const first = actor.getSnapshot();
    if (first.status === 'error') throw first.error;
    // The fast path of hot creates (the partner POST): a first state that already rests and invokes
    // nothing is stored without starting the actor, saving its start and the wait. Starting would only
    // run the first states' custom actions, which flows do not have (effects are invoked actors).
    const settled =
      isAtRest(first) && Object.keys(first.children).length === 0
        ? { snapshot: first, persisted: this.#persisted(definition, actor, first) }
        : await this.#runToRest(definition, actor, () => undefined);
    const view = this.#view(definition, { id, version: 1, expiresAt }, settled.snapshot);
    if (settled.persisted === null) return view;
    await this.#store.insert(
      {
        id,
        kind: definition.kind,
        state: view.state,
        snapshot: this.#seal(definition, id, settled.persisted),
        machineVersion: definition.machineVersion,
        expiresAt,
        version: 1,
      },
      now,
    );
    return view;
  }

  /**
   * Sends one event to a stored flow and persists the result.
   *
   * @throws FlowError NOT_FOUND (no such flow, or one of another kind), FLOW_EXPIRED, FLOW_OUTDATED,
   *   CONFLICT (the current state does not accept this event; nothing ran), FLOW_CONFLICT (another
   *   step holds or changed the flow; nothing persisted). An effect that fails without the machine
   *   handling it (`onError`) rethrows that error and leaves the flow as it was, so the step can be retried.
   */
  send<TMachine extends AnyStateMachine>(definition: FlowDefinition<TMachine>, flowId: string, event: EventFromLogic<TMachine>): Promise<FlowView<TMachine>> {
    return this.step(definition, flowId, () => ({ event }));
  }

  /**
   * One step decided on the flow as it is: `choose` sees the current view and returns the step to run,
   * or null to only look (nothing runs, nothing is written). It runs while the flow is taken (see
   * `FlowStore.take`), so it may check limits first; a throw from it changes nothing. Same errors as `send`.
   */
  async step<TMachine extends AnyStateMachine>(
    definition: FlowDefinition<TMachine>,
    flowId: string,
    choose: (current: FlowView<TMachine>) => FlowStep<TMachine> | null | Promise<FlowStep<TMachine> | null>,
  ): Promise<FlowView<TMachine>> {
    const taken = await this.#store.take(definition.kind, flowId);
    if (taken === null) {
      throw new FlowError('FLOW_CONFLICT', 'Another request is working on this flow; try again.', { kind: definition.kind });
    }
    let released = false;
    try {
      const flow = this.#checked(definition, taken.flow);
      const actor = createActor(definition.machine as AnyStateMachine, { snapshot: this.#open(flow) });
      const restored = actor.getSnapshot();
      const current = this.#view(definition, flow, restored, flow.state);
      // A finished flow answers every later step with its final view: a client retrying the last
      // step after a lost response sees the same outcome instead of an error.
      if (restored.status !== 'active') return current;
      const plan = await choose(current);
      if (plan === null) return current;
      // Checked before the actor starts, so an event the state does not accept runs no effect at all.
      if (!restored.can(plan.event)) {
        throw new FlowError('CONFLICT', 'This step is not possible in the current state of the flow.', {
          kind: flow.kind,
          state: flow.state,
          event: plan.event.type,
        });
      }

      const { snapshot, persisted } = await this.#runToRest(definition, actor, () => actor.send(plan.event));
      await plan.beforeSave?.(snapshot as SnapshotFrom<TMachine>);
      const view = this.#view(definition, { id: flow.id, version: flow.version + 1, expiresAt: flow.expiresAt }, snapshot);
      if (persisted === null) {
        await this.#store.delete(flow.kind, flow.id);
        released = true;
        return view;
      }
      const saved = await this.#store.save(
        { ...flow, state: view.state, snapshot: this.#seal(definition, flow.id, persisted), version: view.version },
        this.#now(),
      );
      released = true;
      if (saved === 'conflict') {
        throw new FlowError('FLOW_CONFLICT', 'The flow was changed by another request; reload it and try again.', { kind: flow.kind });
      }
      if (saved === 'expired') throw expired(flow);
      return view;
    } finally {
      if (!released) await this.#store.release(definition.kind, flowId);
    }
  }

  /**
   * Reads a flow (same checks as `send`) without running anything: the actor is restored but never
   * started, so no effect runs. For GET endpoints that render the current step.
   */
  async get<TMachine extends AnyStateMachine>(definition: FlowDefinition<TMachine>, flowId: string): Promise<FlowView<TMachine>> {
    const flow = this.#checked(definition, await this.#store.load(definition.kind, flowId));
    const actor = createActor(definition.machine as AnyStateMachine, { snapshot: this.#open(flow) });
    return this.#view(definition, flow, actor.getSnapshot(), flow.state);
  }

  /** Deletes flows that expired before `before` (default: now). Returns how many. For a periodic sweep. */
  purgeExpired(before: Date = this.#now()): Promise<number> {
    return this.#store.purgeExpired(before);
  }

  #seal(definition: FlowDefinition<AnyStateMachine>, id: string, persisted: Record<string, unknown>): Record<string, unknown> {
    if (definition.sealSnapshot === false) return persisted;
    return { sealed: this.#snapshots.seal(persisted as unknown as Snapshot<unknown>, id, definition.kind) };
  }

  /**
   * The stored snapshot, opened. A snapshot without `sealed` was written before snapshots were sealed
   * (or by a flow that does not seal it): it is read as it is (and sealed by its next step if its
   * flow seals) until it expires. A sealed one that fails to open
   * (altered, moved, its key dropped from the ring) throws: that is tampering or a configuration
   * fault, not the person's doing.
   */
  #open(flow: StoredFlow): Snapshot<unknown> {
    const stored = flow.snapshot;
    if (typeof stored.sealed !== 'string') return stored as unknown as Snapshot<unknown>;
    return this.#snapshots.open(stored.sealed, flow.id, flow.kind);
  }

  #checked(definition: FlowDefinition<AnyStateMachine>, flow: StoredFlow | null): StoredFlow {
    // Another kind's id is "not found" too: a flow is never continued through another flow's routes.
    if (flow === null || flow.kind !== definition.kind) {
      throw new FlowError('NOT_FOUND', 'No such flow.', { kind: definition.kind });
    }
    if (isExpired(flow.expiresAt, this.#now())) throw expired(flow);
    if (flow.machineVersion !== definition.machineVersion) {
      throw new FlowError('FLOW_OUTDATED', 'This flow was started by an older version of the service; start a new one.', {
        kind: flow.kind,
        flowId: flow.id,
      });
    }
    return flow;
  }

  /**
   * Starts the actor, performs `act` (sending the event), waits for rest, and returns the settled
   * snapshot with its persisted form (null when the flow is done and its kind is deleted then). The
   * actor is always stopped: a promise still running in a rest state keeps running in the background
   * but its result is dropped (it re-runs on the next restore).
   */
  async #runToRest(
    definition: FlowDefinition<AnyStateMachine>,
    actor: Actor<AnyStateMachine>,
    act: () => void,
  ): Promise<{ snapshot: AnyMachineSnapshot; persisted: Record<string, unknown> | null }> {
    // An error observer must exist before start: without one XState rethrows actor errors from a
    // timer, where nothing can catch them. The error itself is read from the snapshot below.
    const subscription = actor.subscribe({ error: () => undefined });
    try {
      actor.start();
      act();
      let snapshot: AnyMachineSnapshot = actor.getSnapshot();
      try {
        // Most steps come to rest synchronously (a decision, no effect): no waiter is needed then.
        if (!isAtRest(snapshot)) snapshot = await waitFor(actor, isAtRest, { timeout: this.#settleTimeoutMs });
      } catch (error) {
        // waitFor also rejects when the actor errors while we wait: report that error, not a timeout.
        const current = actor.getSnapshot();
        if (current.status === 'error') throw current.error;
        throw new Error(`flow ${definition.kind} did not come to rest within ${this.#settleTimeoutMs} ms`, { cause: error });
      }
      if (snapshot.status === 'error') throw snapshot.error;
      return { snapshot, persisted: this.#persisted(definition, actor, snapshot) };
    } finally {
      subscription.unsubscribe();
      actor.stop();
    }
  }

  /** What to store of a settled actor: null when there is nothing to keep (done, and deleted then). */
  #persisted(definition: FlowDefinition<AnyStateMachine>, actor: Actor<AnyStateMachine>, snapshot: AnyMachineSnapshot): Record<string, unknown> | null {
    if (snapshot.status === 'done' && definition.whenDone === 'delete') return null;
    const persisted = actor.getPersistedSnapshot() as unknown as Record<string, unknown>;
    const notJson = findNonJsonValue(persisted);
    if (notJson !== null) {
      throw new Error(`flow ${definition.kind}: snapshot is not plain JSON at ${notJson}; keep context JSON-only`);
    }
    return persisted;
  }

  #view<TMachine extends AnyStateMachine>(
    definition: FlowDefinition<TMachine>,
    flow: { id: string; version: number; expiresAt: Date },
    snapshot: AnyMachineSnapshot,
    state = stateValueToString(snapshot.value),
  ): FlowView<TMachine> {
    return { id: flow.id, kind: definition.kind, state, version: flow.version, expiresAt: flow.expiresAt, snapshot: snapshot as SnapshotFrom<TMachine> };
  }
}

const expired = (flow: StoredFlow) => new FlowError('FLOW_EXPIRED', 'This flow has expired; start a new one.', { kind: flow.kind, flowId: flow.id });
