/**
 * Where the flow runtime keeps flows between requests. The runtime does everything else (restoring,
 * running the machine, the kind, expiry and machine-version checks, sealing the snapshot); a store
 * only keeps records and makes one step at a time win. Two stores exist:
 *
 * - `PostgresFlowStore` (`flow` table): durable, queryable by state; optimistic: `take` takes
 *   nothing and `save` writes only while the version is the one read, so of two racing steps both run
 *   their effects and the second to save gets FLOW_CONFLICT.
 * - `RedisFlowStore` (`adapters/redis`): a record per flow expiring with it; pessimistic: `take` locks
 *   the flow and reads it in one round trip, so a second step at the same time gets FLOW_CONFLICT
 *   before it runs anything.
 */
export interface FlowStore {
  /** A flow without taking it (reads that run nothing); null when there is none. */
  load(kind: string, id: string): Promise<StoredFlow | null>;
  /**
   * Takes the flow for one step and reads it: `{ flow }` (null when there is none) for the taker, who
   * must then `save`, `delete` or `release` it; `null` when another step holds it.
   */
  take(kind: string, id: string): Promise<{ flow: StoredFlow | null } | null>;
  /** Stores a new flow; `at`: now, by the runtime's clock (a Redis record's time to live counts from it). */
  insert(flow: StoredFlow, at: Date): Promise<void>;
  /**
   * Writes a step's result (`flow.version` is the new version: the taken one + 1) and releases the
   * flow. `conflict`: another step changed it meanwhile; `expired`: it expired meanwhile (nothing written).
   */
  save(flow: StoredFlow, at: Date): Promise<'saved' | 'conflict' | 'expired'>;
  /** Deletes a flow that has ended, and releases it. */
  delete(kind: string, id: string): Promise<void>;
  /** Releases a taken flow without writing (the step only looked, or failed). */
  release(kind: string, id: string): Promise<void>;
  /** Deletes flows that expired before `before`; a store whose records expire on their own has none. */
  purgeExpired(before: Date): Promise<number>;
  /**
   * How long a taken flow stays taken when its step never releases it (a pessimistic store's lock
   * expiry); the runtime refuses a settle timeout that is not shorter. Undefined: nothing is held.
   */
  readonly holdMs?: number;
}

/** One flow as a store keeps it. */
export interface StoredFlow {
  id: string;
  kind: string;
  /** The machine's state value as text (`stateValueToString`), for queries; never personal data. */
  state: string;
  /** What the runtime wrote: `{ sealed }` (decision 0022), or XState's snapshot in clear from before sealing. */
  snapshot: Record<string, unknown>;
  machineVersion: number;
  expiresAt: Date;
  /** 1 when created, +1 per saved step. */
  version: number;
}
