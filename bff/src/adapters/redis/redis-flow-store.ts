import type { FlowStore, StoredFlow } from '../../kernel/flow/flow-store.ts';
import { stateValueToString } from '../../kernel/flow/flow-state.ts';
import { ttlMillis, type EphemeralStore } from '../../ports/ephemeral-store.ts';

/** A flow's record, JSON under its record key. Records written before this store lack `state` and `version`. */
interface RedisFlowRecord {
  state?: string;
  machineVersion: number;
  /** Epoch milliseconds; the key expires then too. */
  expiresAt: number;
  version?: number;
  snapshot: Record<string, unknown>;
}

/** Where one kind's records and locks live: each is its prefix followed by the flow's id. */
export interface RedisFlowKeys {
  record: string;
  lock: string;
}

export interface RedisFlowStoreOptions {
  store: EphemeralStore;
  /** Key prefixes per kind; a kind not named here uses `flow:<kind>:` and `flow-lock:<kind>:`. */
  keys?: Record<string, RedisFlowKeys>;
  /** How long a step's lock lives if the step never releases it (a crashed process). */
  holdMs?: number;
}

/** Ids become keys: a bounded, pattern-free alphabet (UUIDs, hex hashes). */
const FLOW_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Short-lived flows in the ephemeral store (Redis): one record per flow, expiring with the flow (the
 * data goes with it; nothing to sweep), and a lock per flow so one step at a time runs: a second step
 * at the same time is refused before it runs anything. Each step costs two round trips: take (lock and
 * read, one script) and save (write and unlock, pipelined) or delete (record and lock, one DEL); this
 * is on every partner GET, where each round trip costs the shared cores a socket write and read.
 *
 * No version check at save: the lock makes the step the only writer, and the runtime's settle timeout
 * is shorter than the lock's life (`holdMs`).
 */
export class RedisFlowStore implements FlowStore {
  readonly holdMs: number;
  readonly #store: EphemeralStore;
  readonly #keys: Record<string, RedisFlowKeys>;

  constructor(options: RedisFlowStoreOptions) {
    this.#store = options.store;
    this.#keys = options.keys ?? {};
    this.holdMs = options.holdMs ?? 35_000;
    ttlMillis(this.holdMs); // validates it
  }

  async load(kind: string, id: string): Promise<StoredFlow | null> {
    if (!FLOW_ID.test(id)) return null;
    return this.#parse(kind, id, await this.#store.get(this.#record(kind, id)));
  }

  async take(kind: string, id: string): Promise<{ flow: StoredFlow | null } | null> {
    if (!FLOW_ID.test(id)) return { flow: null };
    const locked = await this.#store.lockAndGet(this.#lock(kind, id), '1', ttlMillis(this.holdMs), this.#record(kind, id));
    return locked && { flow: this.#parse(kind, id, locked.value) };
  }

  async insert(flow: StoredFlow, at: Date): Promise<void> {
    await this.#store.set(this.#record(flow.kind, flow.id), serialize(flow), ttlMillis(flow.expiresAt.getTime() - at.getTime()));
  }

  async save(flow: StoredFlow, at: Date): Promise<'saved' | 'expired'> {
    const left = flow.expiresAt.getTime() - at.getTime();
    if (left <= 0) {
      await this.release(flow.kind, flow.id);
      return 'expired';
    }
    // Issued in the same tick, so the client sends both in one write: one round trip.
    await Promise.all([this.#store.set(this.#record(flow.kind, flow.id), serialize(flow), ttlMillis(left)), this.release(flow.kind, flow.id)]);
    return 'saved';
  }

  async delete(kind: string, id: string): Promise<void> {
    await this.#store.delete(this.#record(kind, id), this.#lock(kind, id));
  }

  async release(kind: string, id: string): Promise<void> {
    if (FLOW_ID.test(id)) await this.#store.delete(this.#lock(kind, id));
  }

  async purgeExpired(): Promise<number> {
    return 0; // every record expires on its own
  }

  #record(kind: string, id: string): string {
    return `${this.#keys[kind]?.record ?? `flow:${kind}:`}${id}`;
  }

  #lock(kind: string, id: string): string {
    return `${this.#keys[kind]?.lock ?? `flow-lock:${kind}:`}${id}`;
  }

  #parse(kind: string, id: string, value: string | null): StoredFlow | null {
    if (value === null) return null;
    const record = JSON.parse(value) as RedisFlowRecord;
    return {
      id,
      kind,
      // A record from before this store holds its snapshot in clear, with the state in it.
      state: record.state ?? stateValueToString((record.snapshot as { value: Parameters<typeof stateValueToString>[0] }).value),
      snapshot: record.snapshot,
      machineVersion: record.machineVersion,
      expiresAt: new Date(record.expiresAt),
      version: record.version ?? 1,
    };
  }
}

function serialize(flow: StoredFlow): string {
  const record: RedisFlowRecord = {
    state: flow.state,
    machineVersion: flow.machineVersion,
    expiresAt: flow.expiresAt.getTime(),
    version: flow.version,
    snapshot: flow.snapshot,
  };
  return JSON.stringify(record);
}
