import type { EntityManager } from '@mikro-orm/core';
import { FlowSchema, type FlowRecord } from './flow.entity.ts';
import type { FlowStore, StoredFlow } from './flow-store.ts';
import { isFlowId } from './flow-state.ts';

/**
 * Flows as rows of `flow` (see `flow.entity.ts`): durable, and queryable by kind and state. Optimistic:
 * a step takes nothing, and its save is `UPDATE … WHERE id = ? AND version = ?`, so of two steps that
 * read the same version only the first to save writes. Every operation works in a fork of its own and
 * writes at once with a native statement; nothing relies on a later flush.
 */
export class PostgresFlowStore implements FlowStore {
  readonly #em: EntityManager;

  /** `em`: the root (or a request's) entity manager. */
  constructor(em: EntityManager) {
    this.#em = em;
  }

  async load(_kind: string, id: string): Promise<StoredFlow | null> {
    // Ids come from URLs: anything that is not a UUID is "not found", never a database error.
    const row = isFlowId(id) ? await this.#em.fork().findOne(FlowSchema, { id }) : null;
    return row && stored(row);
  }

  async take(kind: string, id: string): Promise<{ flow: StoredFlow | null }> {
    return { flow: await this.load(kind, id) };
  }

  async insert(flow: StoredFlow, at: Date): Promise<void> {
    await this.#em.fork().insert(FlowSchema, {
      id: flow.id,
      kind: flow.kind,
      state: flow.state,
      snapshot: flow.snapshot,
      machineVersion: flow.machineVersion,
      expiresAt: flow.expiresAt,
      createdAt: at,
      updatedAt: at,
      version: flow.version,
    });
  }

  async save(flow: StoredFlow, at: Date): Promise<'saved' | 'conflict'> {
    const updated = await this.#em
      .fork()
      .nativeUpdate(
        FlowSchema,
        { id: flow.id, version: flow.version - 1 },
        { state: flow.state, snapshot: flow.snapshot, updatedAt: at, version: flow.version },
      );
    return updated === 0 ? 'conflict' : 'saved';
  }

  async delete(_kind: string, id: string): Promise<void> {
    await this.#em.fork().nativeDelete(FlowSchema, { id });
  }

  async release(): Promise<void> {
    // Nothing is held between reading and saving.
  }

  purgeExpired(before: Date): Promise<number> {
    return this.#em.fork().nativeDelete(FlowSchema, { expiresAt: { $lt: before } });
  }
}

function stored(row: FlowRecord): StoredFlow {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    snapshot: row.snapshot,
    machineVersion: row.machineVersion,
    expiresAt: row.expiresAt,
    version: row.version,
  };
}
