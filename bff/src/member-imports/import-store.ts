import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { bindSeal } from '../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import type { MemberRow, RefusalReason } from './csv.ts';

export type ImportStatus = 'receiving' | 'processing' | 'done';
export type RowResult = 'pending' | 'created' | 'matched' | 'refused';

export interface ImportCounts {
  total: number;
  pending: number;
  created: number;
  matched: number;
  /** Rows whose person was sent an invitation (created or matched rows; they are counted there too). */
  invited: number;
  refused: number;
}

export interface ImportRecord {
  id: string;
  tenant: string;
  status: ImportStatus;
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
  counts: ImportCounts;
}

/** A row as it is read back: the file's values (opened from the sealed payload) and what became of it. */
export interface ImportRow {
  seq: number;
  importId: string;
  tenant: string;
  line: number;
  /** The row's values as the file had them (a refused row may miss some). */
  member: Partial<MemberRow>;
  result: RowResult;
  reason: RefusalReason | null;
  invited: boolean;
  userId: string | null;
  accountOutcome: 'created' | 'matched' | null;
  attempts: number;
  /** Who uploaded the file (an admin's user id, or `cli`): the inviter of its invitations. */
  uploadedBy: string;
}

/** A row to store while the file streams in: checked (pending) or refused at once. */
export interface NewRow {
  line: number;
  member: Partial<MemberRow>;
  refused?: RefusalReason;
}

interface RawRow {
  seq: string | number;
  import_id: string;
  tenant: string;
  line: number;
  payload: string;
  result: RowResult;
  reason: RefusalReason | null;
  invited: boolean;
  user_id: string | null;
  account_outcome: 'created' | 'matched' | null;
  attempts: number;
  created_by: string;
}

/**
 * The import tables (Migration20261210120000_member_imports) in SQL. Rows are inserted in batches
 * while a file streams in; workers in every BFF process (and the CLI) claim due rows with
 * `FOR UPDATE SKIP LOCKED` and a lease, so two never work on one row at once and a row whose worker
 * died is taken again once its lease is over.
 */
export class ImportStore {
  readonly #orm: { readonly em: EntityManager };
  readonly #crypto: FieldEncryption;
  readonly #now: () => Date;

  /** `orm.em` is read at the first query, not here (routes are listed with dependencies that must not be touched). */
  constructor(deps: { orm: { readonly em: EntityManager }; encryption: FieldEncryption; now?: () => Date }) {
    this.#orm = deps.orm;
    this.#crypto = deps.encryption;
    this.#now = deps.now ?? (() => new Date());
  }

  async create(tenant: string, createdBy: string): Promise<string> {
    const id = randomUUID();
    const now = this.#now();
    await this.#orm.em
      .fork()
      .execute(
        `insert into member_import (id, tenant, status, total, created_by, created_at, updated_at) values (?, ?, 'receiving', 0, ?, ?, ?)`,
        [id, tenant, createdBy, now, now],
        'run',
      );
    return id;
  }

  /** One batch of a file's rows, in one statement. */
  async addRows(importId: string, rows: NewRow[]): Promise<void> {
    if (rows.length === 0) return;
    const now = this.#now();
    const values: unknown[] = [];
    for (const row of rows) {
      values.push(
        importId,
        row.line,
        rowSeal(this.#crypto).seal(row.member, importId, row.line),
        row.refused ? 'refused' : 'pending',
        row.refused ?? null,
        now,
        now,
      );
    }
    await this.#orm.em
      .fork()
      .execute(
        `insert into member_import_row (import_id, line, payload, result, reason, next_attempt_at, updated_at) values ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        values,
        'run',
      );
  }

  /** The whole file is in: its rows may be worked on. */
  async received(importId: string, total: number): Promise<void> {
    await this.#orm.em
      .fork()
      .execute(
        `update member_import set status = 'processing', total = ?, updated_at = ? where id = ? and status = 'receiving'`,
        [total, this.#now(), importId],
        'run',
      );
    await this.finishIfComplete(importId);
  }

  /** A file refused half-way (too large): nothing of it stays. */
  async discard(importId: string): Promise<void> {
    await this.#orm.em.fork().transactional(async (em) => {
      await em.execute('delete from member_import_row where import_id = ?', [importId], 'run');
      await em.execute('delete from member_import where id = ?', [importId], 'run');
    });
  }

  async get(importId: string): Promise<ImportRecord | null> {
    const em = this.#orm.em.fork();
    const [imp] = await em.execute<
      { id: string; tenant: string; status: ImportStatus; total: number; created_by: string; created_at: string | Date; finished_at: string | Date | null }[]
    >('select * from member_import where id = ?', [importId], 'all');
    if (!imp) return null;
    const groups = await em.execute<{ result: RowResult; n: string; invited: string }[]>(
      'select result, count(*) as n, count(*) filter (where invited) as invited from member_import_row where import_id = ? group by result',
      [importId],
      'all',
    );
    const counts: ImportCounts = { total: 0, pending: 0, created: 0, matched: 0, invited: 0, refused: 0 };
    for (const g of groups) {
      counts[g.result] = Number(g.n);
      counts.total += Number(g.n);
      counts.invited += Number(g.invited);
    }
    return {
      id: imp.id,
      tenant: imp.tenant,
      status: imp.status,
      createdBy: imp.created_by,
      createdAt: new Date(imp.created_at),
      finishedAt: imp.finished_at === null ? null : new Date(imp.finished_at),
      counts,
    };
  }

  /** A page of an import's rows in file order, after line `after`. */
  async rows(importId: string, filter: { result?: RowResult; after?: number; limit: number }): Promise<ImportRow[]> {
    const rows = await this.#orm.em.fork().execute<RawRow[]>(
      `select r.*, i.tenant, i.created_by from member_import_row r join member_import i on i.id = r.import_id
          where r.import_id = ? and r.line > ? ${filter.result ? 'and r.result = ?' : ''} order by r.line limit ?`,
      [importId, filter.after ?? 0, ...(filter.result ? [filter.result] : []), filter.limit],
      'all',
    );
    return rows.map((r) => this.#open(r));
  }

  /**
   * Leases up to `max` due pending rows of files received in full, by line then age: the imports under
   * way take turns, so a small file is not queued behind a large one's thousands of rows. Committed at once:
   * the work on them (Keycloak, the core, mail) runs outside any transaction, and `settle`/`retry`
   * record what became of each.
   */
  async claim(max: number, leaseMs: number, importId?: string): Promise<ImportRow[]> {
    const now = this.#now();
    const rows = await this.#orm.em.fork().execute<RawRow[]>(
      `update member_import_row r set lease_until = ?, attempts = r.attempts + 1, updated_at = ?
         from member_import i
        where i.id = r.import_id and r.seq in (
          select c.seq from member_import_row c join member_import ci on ci.id = c.import_id
           where c.result = 'pending' and c.next_attempt_at <= ? and (c.lease_until is null or c.lease_until < ?)
             and ci.status = 'processing' ${importId ? 'and c.import_id = ?' : ''}
           order by c.line, c.seq limit ? for update of c skip locked)
        returning r.*, i.tenant, i.created_by`,
      [new Date(now.getTime() + leaseMs), now, now, now, ...(importId ? [importId] : []), max],
      'all',
    );
    return rows.map((r) => this.#open(r)).sort((a, b) => a.seq - b.seq);
  }

  /** The account step is done (the invitation may still fail): a retry goes on from here. */
  async accountDone(seq: number, userId: string, outcome: 'created' | 'matched', stateUserIdHash: string): Promise<void> {
    await this.#orm.em
      .fork()
      .execute(
        'update member_import_row set user_id = ?, account_outcome = ?, state_user_id_hash = ?, updated_at = ? where seq = ?',
        [userId, outcome, stateUserIdHash, this.#now(), seq],
        'run',
      );
  }

  /** The account the latest earlier row of the same tenant and state user id was settled on, if any. */
  async accountOf(stateUserIdHash: string): Promise<string | null> {
    const rows = await this.#orm.em
      .fork()
      .execute<{ user_id: string }[]>(
        'select user_id from member_import_row where state_user_id_hash = ? and user_id is not null order by seq desc limit 1',
        [stateUserIdHash],
        'all',
      );
    return rows[0]?.user_id ?? null;
  }

  /** The row's final result. */
  async settle(seq: number, outcome: { result: Exclude<RowResult, 'pending'>; reason?: RefusalReason; invited?: boolean; userId?: string }): Promise<void> {
    await this.#orm.em
      .fork()
      .execute(
        'update member_import_row set result = ?, reason = ?, invited = ?, user_id = coalesce(?, user_id), lease_until = null, last_error = null, updated_at = ? where seq = ?',
        [outcome.result, outcome.reason ?? null, outcome.invited ?? false, outcome.userId ?? null, this.#now(), seq],
        'run',
      );
  }

  /** A dependency was down: the row stays pending, tried again at `at`. */
  async retryLater(seq: number, error: string, at: Date): Promise<void> {
    await this.#orm.em
      .fork()
      .execute(
        'update member_import_row set lease_until = null, last_error = ?, next_attempt_at = ?, updated_at = ? where seq = ?',
        [error.slice(0, 64), at, this.#now(), seq],
        'run',
      );
  }

  /** Marks the import done when no row of it is pending; true when this call did. */
  async finishIfComplete(importId: string): Promise<boolean> {
    const now = this.#now();
    const rows = await this.#orm.em.fork().execute<{ id: string }[]>(
      `update member_import set status = 'done', finished_at = ?, updated_at = ?
        where id = ? and status = 'processing' and not exists (select 1 from member_import_row where import_id = ? and result = 'pending')
        returning id`,
      [now, now, importId, importId],
      'all',
    );
    return rows.length > 0;
  }

  #open(r: RawRow): ImportRow {
    return {
      seq: Number(r.seq),
      importId: r.import_id,
      tenant: r.tenant,
      line: Number(r.line),
      member: rowSeal(this.#crypto).open(r.payload, r.import_id, Number(r.line)),
      result: r.result,
      reason: r.reason,
      invited: r.invited,
      userId: r.user_id,
      accountOutcome: r.account_outcome,
      attempts: Number(r.attempts),
      uploadedBy: r.created_by,
    };
  }
}

/** A row's values, bound to its import and line. */
const rowSeal = (encryption: FieldEncryption) =>
  bindSeal<Partial<MemberRow>, [importId: string, line: number]>(encryption, 'json', (importId, line) => `member-import:${importId}:${line}:row`);
