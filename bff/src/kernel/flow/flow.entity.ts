import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One persisted multi-step flow (claim, enrollment, ...). The row is the source of truth between
 * requests: any BFF process can continue any flow, nothing lives in memory.
 *
 * - `state` duplicates the machine's state value as text so flows can be queried ("all claims waiting
 *   for a password") without reading jsonb.
 * - `snapshot` is XState's persisted snapshot (`actor.getPersistedSnapshot()`), JSON only, stored
 *   sealed as `{ "sealed": "v1.<kid>.…" }` (FieldEncryption bound to id and kind; decision 0022): a
 *   flow's context holds what the person told us.
 * - `version` is the optimistic lock: every write is `UPDATE ... WHERE id = ? AND version = ?`.
 *
 * The table is created by the checked-in migration `Migration20261123000000_flow`; keep both in step
 * (the integration test compares them).
 */
export const FlowSchema = defineEntity({
  name: 'Flow',
  tableName: 'flow',
  properties: {
    id: p.uuid().primary(),
    kind: p.string().length(64),
    state: p.string().length(255),
    snapshot: p.json<Record<string, unknown>>(),
    machineVersion: p.integer(),
    expiresAt: p.datetime(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
  indexes: [
    { name: 'flow_kind_state_idx', properties: ['kind', 'state'] },
    { name: 'flow_expires_at_idx', properties: ['expiresAt'] },
  ],
});

export type FlowRecord = InferEntity<typeof FlowSchema>;
