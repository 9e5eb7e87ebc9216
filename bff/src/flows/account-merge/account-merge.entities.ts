import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One merge per closed account, ever (`other_user_id` unique): the `reserve` step's row, so two flows
 * cannot merge the same account, nor two accounts into each other at once (merges.ts). `finished_at`
 * is set by the last step. Table: Migration20261211130000_account_merge.
 */
export const AccountMergeSchema = defineEntity({
  name: 'AccountMerge',
  tableName: 'account_merge',
  properties: {
    flowId: p.uuid().primary(),
    userId: p.string().length(64),
    otherUserId: p.string().length(64).unique(),
    createdAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
  },
  indexes: [{ name: 'account_merge_user_id_index', properties: ['userId'] }],
});
export type AccountMergeRecord = InferEntity<typeof AccountMergeSchema>;

/**
 * The merge's audit trail: every proof, refusal, confirmation and step, with both account ids and no
 * personal data (the steps' details name kinds and counts, never values). A step's row has an id
 * derived from the flow and the step (audit.ts), so a step repeated after a crash is recorded once.
 */
export const AccountMergeAuditSchema = defineEntity({
  name: 'AccountMergeAudit',
  tableName: 'account_merge_audit',
  properties: {
    id: p.uuid().primary(),
    at: p.datetime(),
    flowId: p.uuid(),
    event: p.string().length(64),
    outcome: p.string().length(32),
    userId: p.string().length(64),
    otherUserId: p.string().length(64).nullable(),
    detail: p.string().length(255).nullable(),
  },
  indexes: [
    { name: 'account_merge_audit_flow_id_index', properties: ['flowId'] },
    { name: 'account_merge_audit_at_index', properties: ['at'] },
  ],
});
export type AccountMergeAuditRecord = InferEntity<typeof AccountMergeAuditSchema>;
