import { defineEntity, p } from '@mikro-orm/core';

/**
 * The member import tables (made by `Migration20261210120000_member_imports`; keep both in step). The
 * store reads and writes them in SQL (`import-store.ts`: batched inserts, leased claims); these
 * definitions keep the ORM's picture of the schema true.
 *
 * `member_import`: one uploaded file. `status` receiving | processing | done; `total` the data rows.
 */
export const MemberImportSchema = defineEntity({
  name: 'MemberImport',
  tableName: 'member_import',
  properties: {
    id: p.uuid().primary(),
    tenant: p.string().length(64),
    status: p.string().length(16),
    total: p.integer().default(0),
    createdBy: p.string().length(64),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['status'] }],
});

/**
 * `member_import_row`: one data row of a file. `payload` is the row (names, identifiers, state user id)
 * sealed with FieldEncryption bound to the import and line; `result` pending | created | matched |
 * refused, `reason` a code (never data), `invited` whether an invitation went out (or an open one was
 * reused). `user_id` / `account_outcome` record the account step once done, so a retry after a
 * failed invitation does not redo it; `state_user_id_hash` (a keyed hash of tenant + state user id)
 * finds the account an earlier import made for the same member. `lease_until`: a worker holds the row until then (a crashed
 * worker's rows are taken again after it); `next_attempt_at`: when a row whose dependency was down
 * is tried again.
 */
export const MemberImportRowSchema = defineEntity({
  name: 'MemberImportRow',
  tableName: 'member_import_row',
  properties: {
    seq: p.bigint().primary().autoincrement(),
    importId: p.uuid(),
    line: p.integer(),
    payload: p.text(),
    result: p.string().length(16),
    reason: p.string().length(48).nullable(),
    invited: p.boolean().default(false),
    userId: p.string().length(64).nullable(),
    stateUserIdHash: p.string().length(64).nullable(),
    accountOutcome: p.string().length(16).nullable(),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    leaseUntil: p.datetime().nullable(),
    lastError: p.string().length(64).nullable(),
    updatedAt: p.datetime(),
  },
  uniques: [{ properties: ['importId', 'line'] }],
  indexes: [{ properties: ['result', 'nextAttemptAt'] }, { properties: ['stateUserIdHash'] }],
});
