import { defineEntity, p } from '@mikro-orm/core';

/**
 * The outbox tables (made by `Migration20261128000000_upstream_outbox`; keep both in step). The
 * outbox reads and writes them in SQL (`outbox-store.ts`: SKIP LOCKED claims, advisory locks); these
 * definitions keep the ORM's picture of the schema true.
 *
 * `upstream_outbox`: one row per change of a linked member. `seq` orders them; `id` is also the
 * Idempotency-Key of the delivery; `payload` is the change sealed with FieldEncryption (bound to the
 * row id), cleared once delivered; `fields` keeps the names of the changed fields (never values);
 * `status` pending | delivered | failed; `last_error` a code, never data; (`source_event_id`, `kind`)
 * unique: a Keycloak event is recorded once.
 */
export const UpstreamOutboxSchema = defineEntity({
  name: 'UpstreamOutbox',
  tableName: 'upstream_outbox',
  properties: {
    seq: p.bigint().primary().autoincrement(),
    id: p.uuid().unique(),
    userId: p.string().length(64),
    upstreamUserId: p.string().length(64).nullable(),
    kind: p.string().length(16),
    payload: p.text().nullable(),
    fields: p.string().length(200).default(''),
    sourceEventId: p.string().length(128),
    status: p.string().length(16).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    lastError: p.string().length(64).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deliveredAt: p.datetime().nullable(),
  },
  uniques: [{ properties: ['sourceEventId', 'kind'] }],
  indexes: [{ properties: ['status', 'nextAttemptAt'] }, { properties: ['userId', 'seq'] }],
});

/** The last state of each linked member the outbox recorded (sealed), to turn an event into the fields that changed. */
export const UpstreamOutboxMirrorSchema = defineEntity({
  name: 'UpstreamOutboxMirror',
  tableName: 'upstream_outbox_mirror',
  properties: {
    userId: p.string().length(64).primary(),
    upstreamUserId: p.string().length(64),
    snapshot: p.text(),
    updatedAt: p.datetime(),
  },
});

/**
 * How far each Keycloak event feed has been read: event time (epoch ms) and the ids, with times, of
 * the events handled in the look-back window before it (JSON), so a re-read event is skipped.
 */
export const UpstreamOutboxCursorSchema = defineEntity({
  name: 'UpstreamOutboxCursor',
  tableName: 'upstream_outbox_cursor',
  properties: {
    feed: p.string().length(32).primary(),
    position: p.bigint(),
    seen: p.text().default('[]'),
    updatedAt: p.datetime(),
  },
});
