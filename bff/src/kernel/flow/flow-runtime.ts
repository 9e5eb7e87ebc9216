import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
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
import type { FieldEncryption } from '../crypto/field-encryption.ts';
import { DomainError } from '../errors.ts';
import { FlowSchema, type FlowRecord } from './flow.entity.ts';
import { expiryFrom, findNonJsonValue, isAtRest, isExpired, isFlowId, stateValueToString } from './flow-state.ts';

/**
 * What the runtime needs to know about one kind of flow. The flow's folder owns `kind`,
 * `machineVersion` and the pure machine; the composition root passes the machine through
 * `.provide({ actors })` with the real effects and the TTL from configuration.
 */
export interface FlowDefinition<TMachine extends AnyStateMachine> {
  /** Stable name stored on the row, e.g. `claim`; a flow is only ever continued as its own kind. */
  kind: string;
  /**
   * Bump it whenever a persisted snapshot of the old machine could not be restored into the new one
   * (states renamed or removed, context reshaped). Rows of another version fail with FLOW_OUTDATED and
   * the client starts over; there is no snapshot migration.
   */
  machineVersion: number;
  machine: TMachine;
  /** Lifetime of a new flow; fixed at creation, not extended by later steps. */
  ttlSeconds: number;
}

export function defineFlow<TMachine extends AnyStateMachine>(definition: FlowDefinition<TMachine>): FlowDefinition<TMachine> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(definition.kind)) {
    throw new RangeError(`flow kind "${definition.kind}" must be lowercase letters, digits, _ . - (at most 64)`);
  }
  if (!Number.isInteger(definition.machineVersion) || definition.machineVersion < 1) {
    throw new RangeError(`flow ${definition.kind}: machineVersion must be a whole number >= 1`);
  }
  expiryFrom(new Date(0), definition.ttlSeconds); // validates the TTL
  return definition;
}

/** The flow as a route handler sees it after a step: the row's metadata plus the machine's snapshot. */
export interface FlowView<TMachine extends AnyStateMachine> {
  id: string;
  kind: string;
  /** `flow.state`, see `stateValueToString`. */
  state: string;
  /** The optimistic-lock version now stored (1 after create, +1 per step). */
  version: number;
  expiresAt: Date;
  /** Typed snapshot: `matches()`, `hasTag()`, `context`, `status`, `output`. Render views from this. */
  snapshot: SnapshotFrom<TMachine>;
}

export interface FlowRuntimeDependencies {
  /**
   * Root (or request) entity manager. Every runtime operation works in a fork of its own and writes
   * immediately with conditional native statements; it never relies on a later flush.
   */
  em: EntityManager;
  /**
   * Seals every persisted snapshot (decision 0022): a flow's context holds what the person told us
   * (a state identity's names and ids, identifiers), so the row holds it only as AES-256-GCM bound to
   * the row's id and kind.
   */
  encryption: FieldEncryption;
  now?: () => Date;
  newId?: () => string;
  /**
   * How long a step may take to come to rest (its effects included) before it is abandoned without
   * persisting. Effects must time out well before this (adapters have their own, shorter timeouts).
   */
  settleTimeoutMs?: number;
}

/**
 * Runs persisted XState flows. Each request restores the actor from the row, sends one typed event,
 * waits until the machine is at rest (see `REST_TAG`), persists the new snapshot with an optimistic
 * lock, and stops the actor. Nothing stays in memory between requests, so any BFF process can serve
 * the next step and a restart loses nothing that was persisted.
 *
 * Effects must be idempotent. A step whose persist loses the race (FLOW_CONFLICT), times out, or whose
 * process dies before persisting has already run its effects, and the retried step runs them again.
 * Likewise, an invoked promise actor still running when a rest state was persisted is started again
 * when the flow is next restored (XState restarts active promise actors on restore).
 */
export class FlowRuntime {
  readonly #em: EntityManager;
  readonly #encryption: FieldEncryption;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #settleTimeoutMs: number;

  constructor(dependencies: FlowRuntimeDependencies) {
    this.#em = dependencies.em;
    this.#encryption = dependencies.encryption;
    this.#now = dependencies.now ?? (() => new Date());
    this.#newId = dependencies.newId ?? randomUUID;
    this.#settleTimeoutMs = dependencies.settleTimeoutMs ?? 10_000;
  }

  /** Starts a new flow with `input`, runs it to its first rest state and inserts the row. */
  async create<TMachine extends AnyStateMachine>(
    definition: FlowDefinition<TMachine>,
    input: InputFrom<TMachine>,
    options: { ttlSeconds?: number } = {},
  ): Promise<FlowView<TMachine>> {
    const now = this.#now();
    const expiresAt = expiryFrom(now, options.ttlSeconds ?? definition.ttlSeconds);
    const id = this.#newId();
    const actor = createActor(definition.machine as AnyStateMachine, { input });
    const { snapshot, persisted } = await this.#runToRest(definition, actor, () => undefined);
    const state = stateValueToString(snapshot.value);
    await this.#em.fork().insert(FlowSchema, {
      id,
      kind: definition.kind,
      state,
      snapshot: this.#seal(id, definition.kind, persisted),
      machineVersion: definition.machineVersion,
      expiresAt,
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    return { id, kind: definition.kind, state, version: 1, expiresAt, snapshot: snapshot as SnapshotFrom<TMachine> };
  }

  /**
   * Sends one event to a persisted flow and persists the result.
   *
   * @throws DomainError NOT_FOUND (no such flow, or one of another kind), FLOW_EXPIRED, FLOW_OUTDATED,
   *   CONFLICT (the current state does not accept this event; nothing ran), FLOW_CONFLICT (another
   *   request changed the flow meanwhile; nothing persisted). An effect that fails without the machine
   *   handling it (`onError`) rethrows that error and leaves the row untouched, so the step can be retried.
   */
  async send<TMachine extends AnyStateMachine>(
    definition: FlowDefinition<TMachine>,
    flowId: string,
    event: EventFromLogic<TMachine>,
  ): Promise<FlowView<TMachine>> {
    const em = this.#em.fork();
    const row = await this.#load(em, definition, flowId);
    const actor = createActor(definition.machine as AnyStateMachine, { snapshot: this.#open(row) });
    const restored = actor.getSnapshot();
    // A finished flow answers every later step with its final view: a client retrying the last
    // step after a lost response sees the same outcome instead of an error.
    if (restored.status !== 'active') return viewOf(row, restored);
    // Checked before the actor starts, so an event the state does not accept runs no effect at all.
    if (!restored.can(event)) {
      throw new DomainError('CONFLICT', 'This step is not possible in the current state of the flow.', {
        details: { kind: row.kind, state: row.state, event: event.type },
      });
    }

    const { snapshot, persisted } = await this.#runToRest(definition, actor, () => actor.send(event));
    const state = stateValueToString(snapshot.value);
    const version = row.version + 1;
    const updated = await em.nativeUpdate(
      FlowSchema,
      { id: row.id, version: row.version },
      { state, snapshot: this.#seal(row.id, row.kind, persisted), updatedAt: this.#now(), version },
    );
    if (updated === 0) {
      throw new DomainError('FLOW_CONFLICT', 'The flow was changed by another request; reload it and try again.', {
        details: { kind: row.kind },
      });
    }
    return { id: row.id, kind: row.kind, state, version, expiresAt: row.expiresAt, snapshot: snapshot as SnapshotFrom<TMachine> };
  }

  /**
   * Reads a flow (same checks as `send`) without running anything: the actor is restored but never
   * started, so no effect runs. For GET endpoints that render the current step.
   */
  async get<TMachine extends AnyStateMachine>(definition: FlowDefinition<TMachine>, flowId: string): Promise<FlowView<TMachine>> {
    const row = await this.#load(this.#em.fork(), definition, flowId);
    const actor = createActor(definition.machine as AnyStateMachine, { snapshot: this.#open(row) });
    return viewOf(row, actor.getSnapshot());
  }

  /** Deletes flows that expired before `before` (default: now). Returns how many. For a periodic sweep. */
  async purgeExpired(before: Date = this.#now()): Promise<number> {
    return this.#em.fork().nativeDelete(FlowSchema, { expiresAt: { $lt: before } });
  }

  /** The column's value: `{ sealed }`, bound to the row, so a snapshot copied to another flow does not open there. */
  #seal(id: string, kind: string, persisted: Record<string, unknown>): SealedSnapshot {
    return { sealed: this.#encryption.seal(JSON.stringify(persisted), snapshotAad(id, kind)) };
  }

  /**
   * The row's snapshot, opened. A snapshot without `sealed` was written before snapshots were sealed:
   * it is read as it is (and sealed by its next step) until it expires; the retention sweep deletes
   * it a day later. A sealed one that fails to open (altered, moved, its key dropped from the ring)
   * throws: that is tampering or a configuration fault, not the person's doing.
   */
  #open(row: FlowRecord): Snapshot<unknown> {
    const stored = row.snapshot;
    if (typeof stored.sealed !== 'string') return stored as unknown as Snapshot<unknown>;
    return JSON.parse(this.#encryption.open(stored.sealed, snapshotAad(row.id, row.kind))) as Snapshot<unknown>;
  }

  async #load(em: EntityManager, definition: FlowDefinition<AnyStateMachine>, flowId: string): Promise<FlowRecord> {
    const row = isFlowId(flowId) ? await em.findOne(FlowSchema, { id: flowId }) : null;
    // Another kind's id is "not found" too: a flow is never continued through another flow's routes.
    if (row === null || row.kind !== definition.kind) {
      throw new DomainError('NOT_FOUND', 'No such flow.', { details: { kind: definition.kind } });
    }
    if (isExpired(row.expiresAt, this.#now())) {
      throw new DomainError('FLOW_EXPIRED', 'This flow has expired; start a new one.', {
        details: { kind: row.kind, flowId: row.id },
      });
    }
    if (row.machineVersion !== definition.machineVersion) {
      throw new DomainError('FLOW_OUTDATED', 'This flow was started by an older version of the service; start a new one.', {
        details: { kind: row.kind, flowId: row.id },
      });
    }
    return row;
  }

  /**
   * Starts the actor, performs `act` (sending the event), waits for rest, and returns the settled
   * snapshot with its persisted form. The actor is always stopped: a promise still running in a rest
   * state keeps running in the background but its result is dropped (it re-runs on the next restore).
   */
  async #runToRest(
    definition: FlowDefinition<AnyStateMachine>,
    actor: Actor<AnyStateMachine>,
    act: () => void,
  ): Promise<{ snapshot: AnyMachineSnapshot; persisted: Record<string, unknown> }> {
    // An error observer must exist before start: without one XState rethrows actor errors from a
    // timer, where nothing can catch them. The error itself is read from the snapshot below.
    const subscription = actor.subscribe({ error: () => undefined });
    try {
      actor.start();
      act();
      let snapshot: AnyMachineSnapshot;
      try {
        snapshot = await waitFor(actor, isAtRest, { timeout: this.#settleTimeoutMs });
      } catch (error) {
        // waitFor also rejects when the actor errors while we wait: report that error, not a timeout.
        const current = actor.getSnapshot();
        if (current.status === 'error') throw current.error;
        throw new Error(`flow ${definition.kind} did not come to rest within ${this.#settleTimeoutMs} ms`, { cause: error });
      }
      if (snapshot.status === 'error') throw snapshot.error;
      const persisted = actor.getPersistedSnapshot() as unknown as Record<string, unknown>;
      const notJson = findNonJsonValue(persisted);
      if (notJson !== null) {
        throw new Error(`flow ${definition.kind}: snapshot is not plain JSON at ${notJson}; keep context JSON-only`);
      }
      return { snapshot, persisted };
    } finally {
      subscription.unsubscribe();
      actor.stop();
    }
  }
}

/** What the `flow.snapshot` column holds: XState's persisted snapshot, sealed (FieldEncryption). */
interface SealedSnapshot {
  sealed: string;
  [key: string]: unknown;
}

const snapshotAad = (id: string, kind: string) => `flow:${id}:${kind}:snapshot`;

function viewOf<TMachine extends AnyStateMachine>(row: FlowRecord, snapshot: AnyMachineSnapshot): FlowView<TMachine> {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    version: row.version,
    expiresAt: row.expiresAt,
    snapshot: snapshot as SnapshotFrom<TMachine>,
  };
}
