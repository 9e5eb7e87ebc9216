import { randomUUID } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { bindSeal } from '../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import type { MemberSnapshot, OutboxChange } from './changes.ts';

/** `skipped`: an admin gave up on a failed row (it is never sent); the member's later rows proceed. */
export type OutboxStatus = 'pending' | 'delivered' | 'failed' | 'skipped';

/** A row as the deliverer and the admin see it; `change` is opened from the sealed payload. */
export interface OutboxRow {
  id: string;
  seq: number;
  userId: string;
  upstreamUserId: string | null;
  /** Absent once delivered: the payload (values) is not kept. */
  change: OutboxChange | null;
  kind: OutboxChange['kind'];
  /** Names of the changed fields (`active`/`inactive` for a status row); never values. */
  fields: string[];
  sourceEventId: string;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

interface RawRow {
  id: string;
  seq: string | number;
  user_id: string;
  upstream_user_id: string | null;
  kind: OutboxChange['kind'];
  payload: string | null;
  fields: string;
  source_event_id: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: Date | string;
  last_error: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
}

/** How far a feed was read: event time (epoch ms) and the events (id, time) already handled near it. */
export interface FeedCursor {
  position: number;
  seen: [string, number][];
}

/** What a delivery attempt ended with. */
export type AttemptResult = { outcome: 'delivered' } | { outcome: 'retry'; error: string; at: Date } | { outcome: 'failed'; error: string };

/**
 * The outbox tables (migration Migration20261128000000_upstream_outbox) in SQL: the recorder writes
 * rows, mirror and cursors in one transaction; the deliverer claims due rows with
 * `FOR UPDATE SKIP LOCKED` so two BFF processes never deliver the same row, and never a user's row
 * while an earlier one of that user is undelivered (order per user).
 */
export class OutboxStore {
  readonly #em: EntityManager;
  readonly #crypto: FieldEncryption;
  readonly #now: () => Date;

  constructor(deps: { em: EntityManager; encryption: FieldEncryption; now?: () => Date }) {
    this.#em = deps.em;
    this.#crypto = deps.encryption;
    this.#now = deps.now ?? (() => new Date());
  }

  // ------------------------------------------------------------------------------------- recording

  /**
   * Runs `fn` holding the cursor of `feed` (row lock); null when another process holds it (it is
   * reading that feed right now). The cursor starts at `initial` the first time.
   */
  async withCursor<T>(feed: string, initial: number, fn: (tx: RecordingTx, cursor: FeedCursor) => Promise<T>): Promise<T | null> {
    return this.#em.fork().transactional(async (em) => {
      // One recorder at a time across BFF processes (feeds share the mirror); the others skip this pass.
      const [lock] = await em.execute<{ locked: boolean }[]>('select pg_try_advisory_xact_lock(?) as locked', [RECORDER_LOCK_KEY], 'all');
      if (!lock?.locked) return null;
      await em.execute(
        'insert into upstream_outbox_cursor (feed, position, updated_at) values (?, ?, ?) on conflict do nothing',
        [feed, initial, this.#now()],
        'run',
      );
      const rows = await em.execute<{ position: string; seen: string }[]>(
        'select position, seen from upstream_outbox_cursor where feed = ? for update skip locked',
        [feed],
        'all',
      );
      const row = rows[0];
      if (!row) return null;
      return fn(new RecordingTx(em, this.#crypto, this.#now), { position: Number(row.position), seen: JSON.parse(row.seen) as [string, number][] });
    });
  }

  /**
   * Appends `changes` of one member as new rows and records `snapshot` as what the core holds, waiting
   * for the recorder's lock so a recording pass cannot interleave its mirror update. The new rows.
   */
  async resync(userId: string, upstreamUserId: string, snapshot: MemberSnapshot, changes: OutboxChange[]): Promise<OutboxRow[]> {
    const source = `resync:${randomUUID()}`;
    await this.#em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?)', [RECORDER_LOCK_KEY], 'run');
      const tx = new RecordingTx(em, this.#crypto, this.#now);
      // Its rows share one source id; (source_event_id, kind) stays unique as their kinds differ.
      for (const change of changes) await tx.append({ userId, upstreamUserId, change, sourceEventId: source });
      await tx.setMirror(userId, upstreamUserId, snapshot);
    });
    const rows = await this.#em.fork().execute<RawRow[]>('select * from upstream_outbox where source_event_id = ? order by seq', [source], 'all');
    return rows.map((r) => this.#open(r));
  }

  /**
   * A change the BFF made in Keycloak outside its synchronous paths (the account merge, decision 0040),
   * for the core: like `resync`, under the recorder's lock and with the mirror recorded, but with the
   * caller's `source`, so a step repeated after a crash appends nothing twice (`(source, kind)` unique).
   */
  async enqueue(userId: string, upstreamUserId: string, snapshot: MemberSnapshot, changes: OutboxChange[], source: string): Promise<void> {
    await this.#em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?)', [RECORDER_LOCK_KEY], 'run');
      const tx = new RecordingTx(em, this.#crypto, this.#now);
      for (const change of changes) await tx.append({ userId, upstreamUserId, change, sourceEventId: source });
      await tx.setMirror(userId, upstreamUserId, snapshot);
    });
  }

  async cursors(): Promise<{ feed: string; position: Date }[]> {
    const rows = await this.#em
      .fork()
      .execute<{ feed: string; position: string }[]>('select feed, position from upstream_outbox_cursor order by feed', [], 'all');
    return rows.map((r) => ({ feed: r.feed, position: new Date(Number(r.position)) }));
  }

  // -------------------------------------------------------------------------------------- delivery

  /**
   * Claims up to `max` due rows (at most one per user: the oldest undelivered) and hands each to
   * `deliver` inside the claiming transaction, recording what it returns. After a `retry` (the core
   * looks down) or when `proceed` says no (shutting down), the rest stay pending for a later pass.
   */
  async deliverDue(max: number, deliver: (row: OutboxRow) => Promise<AttemptResult>, proceed: () => boolean = () => true): Promise<number> {
    return this.#em.fork().transactional(async (em) => {
      const rows = await em.execute<RawRow[]>(
        `select o.* from upstream_outbox o
          where o.status = 'pending' and o.next_attempt_at <= ?
            and not exists (select 1 from upstream_outbox p where p.user_id = o.user_id and p.seq < o.seq and p.status not in ('delivered', 'skipped'))
          order by o.seq limit ? for update skip locked`,
        [this.#now(), max],
        'all',
      );
      let attempted = 0;
      for (const raw of rows) {
        if (!proceed()) break;
        attempted += 1;
        const row = this.#open(raw);
        const result = await deliver(row);
        const now = this.#now();
        if (result.outcome === 'delivered') {
          await em.execute(
            `update upstream_outbox set status = 'delivered', attempts = attempts + 1, last_error = null, delivered_at = ?, updated_at = ?, payload = null where id = ?`,
            [now, now, row.id],
            'run',
          );
        } else {
          await em.execute(
            `update upstream_outbox set status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? where id = ?`,
            [
              result.outcome === 'failed' ? 'failed' : 'pending',
              result.error.slice(0, 64),
              result.outcome === 'retry' ? result.at : row.nextAttemptAt,
              now,
              row.id,
            ],
            'run',
          );
          if (result.outcome === 'retry') break;
        }
      }
      return attempted;
    });
  }

  // --------------------------------------------------------------------------------- administration

  async list(filter: { status?: OutboxStatus; userId?: string; limit: number }): Promise<OutboxRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.userId) {
      where.push('user_id = ?');
      params.push(filter.userId);
    }
    const rows = await this.#em
      .fork()
      .execute<RawRow[]>(
        `select * from upstream_outbox ${where.length > 0 ? `where ${where.join(' and ')}` : ''} order by seq limit ?`,
        [...params, filter.limit],
        'all',
      );
    return rows.map((r) => this.#open(r));
  }

  async counts(): Promise<Record<OutboxStatus, number>> {
    const rows = await this.#em
      .fork()
      .execute<{ status: OutboxStatus; n: string }[]>('select status, count(*) as n from upstream_outbox group by status', [], 'all');
    const out: Record<OutboxStatus, number> = { pending: 0, delivered: 0, failed: 0, skipped: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /** A failed row back to pending, due now, attempts reset; null when there is no such failed row. */
  async retry(id: string): Promise<OutboxRow | null> {
    const rows = await this.#em
      .fork()
      .execute<RawRow[]>(
        `update upstream_outbox set status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? where id = ? and status = 'failed' returning *`,
        [this.#now(), this.#now(), id],
        'all',
      );
    return rows[0] ? this.#open(rows[0]) : null;
  }

  /**
   * Deletes rows delivered (or skipped) before `before`, at most `limit` per call (the retention sweep
   * calls again next pass). Pending and failed rows are never deleted: they are work still to do.
   */
  async pruneDelivered(before: Date, limit = 1000): Promise<number> {
    const deleted = await this.#em
      .fork()
      .execute<{ seq: string }[]>(
        `delete from upstream_outbox where seq in (select seq from upstream_outbox where (status = 'delivered' and delivered_at < ?) or (status = 'skipped' and updated_at < ?) order by seq limit ?) returning seq`,
        [before, before, limit],
        'all',
      );
    return deleted.length;
  }

  /** A failed row to skipped, its payload dropped; null when there is no such failed row. */
  async skip(id: string): Promise<OutboxRow | null> {
    const rows = await this.#em
      .fork()
      .execute<RawRow[]>(
        `update upstream_outbox set status = 'skipped', payload = null, updated_at = ? where id = ? and status = 'failed' returning *`,
        [this.#now(), id],
        'all',
      );
    return rows[0] ? this.#open(rows[0]) : null;
  }

  async get(id: string): Promise<OutboxRow | null> {
    const rows = await this.#em.fork().execute<RawRow[]>('select * from upstream_outbox where id = ?', [id], 'all');
    return rows[0] ? this.#open(rows[0]) : null;
  }

  #open(r: RawRow): OutboxRow {
    let change: OutboxChange | null = null;
    if (r.kind === 'delete') change = { kind: 'delete' };
    else if (r.payload !== null) change = payloadSeal(this.#crypto).open(r.payload, r.id);
    return {
      id: r.id,
      seq: Number(r.seq),
      userId: r.user_id,
      upstreamUserId: r.upstream_user_id,
      change,
      kind: r.kind,
      fields: r.fields === '' ? [] : r.fields.split(','),
      sourceEventId: r.source_event_id,
      status: r.status,
      attempts: Number(r.attempts),
      // Raw queries answer timestamps as text.
      nextAttemptAt: new Date(r.next_attempt_at),
      lastError: r.last_error,
      createdAt: new Date(r.created_at),
      deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
    };
  }
}

/** The writes of one recording pass, in the transaction that holds the feed's cursor. */
export class RecordingTx {
  readonly #em: EntityManager;
  readonly #crypto: FieldEncryption;
  readonly #now: () => Date;

  constructor(em: EntityManager, crypto: FieldEncryption, now: () => Date) {
    this.#em = em;
    this.#crypto = crypto;
    this.#now = now;
  }

  async mirror(userId: string): Promise<{ upstreamUserId: string; snapshot: MemberSnapshot } | null> {
    const rows = await this.#em.execute<{ upstream_user_id: string; snapshot: string }[]>(
      'select upstream_user_id, snapshot from upstream_outbox_mirror where user_id = ?',
      [userId],
      'all',
    );
    const row = rows[0];
    if (!row) return null;
    return { upstreamUserId: row.upstream_user_id, snapshot: mirrorSeal(this.#crypto).open(row.snapshot, userId) };
  }

  async setMirror(userId: string, upstreamUserId: string, snapshot: MemberSnapshot): Promise<void> {
    const sealed = mirrorSeal(this.#crypto).seal(snapshot, userId);
    await this.#em.execute(
      `insert into upstream_outbox_mirror (user_id, upstream_user_id, snapshot, updated_at) values (?, ?, ?, ?)
       on conflict (user_id) do update set upstream_user_id = excluded.upstream_user_id, snapshot = excluded.snapshot, updated_at = excluded.updated_at`,
      [userId, upstreamUserId, sealed, this.#now()],
      'run',
    );
  }

  async dropMirror(userId: string): Promise<void> {
    await this.#em.execute('delete from upstream_outbox_mirror where user_id = ?', [userId], 'run');
  }

  /** Appends a change; an event already recorded (re-read through the look-back) adds nothing. */
  async append(row: { userId: string; upstreamUserId: string | null; change: OutboxChange; sourceEventId: string }): Promise<boolean> {
    const id = randomUUID();
    const now = this.#now();
    const payload = row.change.kind === 'delete' ? null : payloadSeal(this.#crypto).seal(row.change, id);
    const rows = await this.#em.execute<{ id: string }[]>(
      `insert into upstream_outbox (id, user_id, upstream_user_id, kind, payload, fields, source_event_id, status, attempts, next_attempt_at, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) on conflict (source_event_id, kind) do nothing returning id`,
      [id, row.userId, row.upstreamUserId, row.change.kind, payload, fieldsOf(row.change).join(','), row.sourceEventId, now, now, now],
      'all',
    );
    return rows.length > 0;
  }

  async advance(feed: string, cursor: FeedCursor): Promise<void> {
    await this.#em.execute(
      'update upstream_outbox_cursor set position = ?, seen = ?, updated_at = ? where feed = ?',
      [cursor.position, JSON.stringify(cursor.seen), this.#now(), feed],
      'run',
    );
  }
}

/** Arbitrary constant naming the recorder's advisory lock. */
const RECORDER_LOCK_KEY = 7_013_2811;
function fieldsOf(c: OutboxChange): string[] {
  if (c.kind === 'profile') return Object.keys(c.changes);
  return c.kind === 'status' ? [c.active ? 'active' : 'inactive'] : [];
}

/** A row's change, bound to the row. */
const payloadSeal = (encryption: FieldEncryption) => bindSeal<OutboxChange, [id: string]>(encryption, 'json', (id) => `upstream-outbox:${id}:payload`);
/** A member's last delivered profile, bound to the member. */
const mirrorSeal = (encryption: FieldEncryption) =>
  bindSeal<MemberSnapshot, [userId: string]>(encryption, 'json', (userId) => `upstream-outbox-mirror:${userId}`);

/** `upstream_outbox_rows{status}` for /metrics: pending and failed rows are what an operator watches. */
export function registerOutboxMetrics(registry: Registry, store: OutboxStore): void {
  new Gauge({
    name: 'upstream_outbox_rows',
    help: 'Rows of the upstream outbox by status (pending: waiting or retrying; failed: needs an admin; skipped: given up by an admin)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await store.counts().catch(() => null);
      if (!counts) return;
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
}
