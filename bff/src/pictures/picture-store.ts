import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

export type JobStatus = 'pending' | 'done' | 'failed' | 'superseded';

export interface PictureJob {
  id: string;
  userId: string;
  status: JobStatus;
  reason: string | null;
  attempts: number;
  replacedPictureId: string | null;
}

interface RawJob {
  id: string;
  user_id: string;
  status: JobStatus;
  reason: string | null;
  attempts: number;
  replaced_picture_id: string | null;
}

const job = (r: RawJob): PictureJob => ({
  id: r.id,
  userId: r.user_id,
  status: r.status,
  reason: r.reason,
  attempts: r.attempts,
  replacedPictureId: r.replaced_picture_id,
});

/** Where a job's upload waits (removed once the job is over) and where a picture is kept. */
export const incomingKey = (jobId: string) => `incoming/${jobId}`;
export const pictureKey = (pictureId: string) => `pictures/${pictureId}.webp`;

/**
 * The picture tables (Migration20261211110000_profile_pictures) in SQL. Jobs are a queue in
 * PostgreSQL: workers in every BFF process claim pending jobs with `FOR UPDATE SKIP LOCKED` and a
 * lease, so two never work on one job at once and the job of a worker that died is taken again once
 * its lease is over (decision 0038, like the member imports of decision 0035).
 */
export class PictureStore {
  readonly #orm: { readonly em: EntityManager };
  readonly #now: () => Date;

  constructor(deps: { orm: { readonly em: EntityManager }; now?: () => Date }) {
    this.#orm = deps.orm;
    this.#now = deps.now ?? (() => new Date());
  }

  #sql<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.#orm.em.fork().execute<T[]>(sql, params, 'all');
  }

  /** A new pending job of this user; the user's earlier pending ones are superseded (the last upload wins) and named. */
  async enqueue(userId: string, id: string = randomUUID()): Promise<{ superseded: string[] }> {
    const now = this.#now();
    return this.#orm.em.fork().transactional(async (em) => {
      const superseded = await em.execute<{ id: string }[]>(
        `update picture_job set status = 'superseded', lease_until = null, updated_at = ? where user_id = ? and status = 'pending' returning id`,
        [now, userId],
        'all',
      );
      await em.execute(
        `insert into picture_job (id, user_id, status, attempts, created_at, updated_at) values (?, ?, 'pending', 0, ?, ?)`,
        [id, userId, now, now],
        'run',
      );
      return { superseded: superseded.map((r) => r.id) };
    });
  }

  /** Up to `limit` pending jobs not leased (or whose lease ran out), now leased to the caller; attempts counted. */
  async claim(limit: number, leaseMs: number): Promise<PictureJob[]> {
    const now = this.#now();
    const rows = await this.#sql<RawJob>(
      `update picture_job set lease_until = ?, attempts = attempts + 1, updated_at = ?
        where id in (select id from picture_job where status = 'pending' and (lease_until is null or lease_until < ?)
                     order by created_at limit ? for update skip locked)
        returning id, user_id, status, reason, attempts, replaced_picture_id`,
      [new Date(now.getTime() + leaseMs), now, now, limit],
    );
    return rows.map(job);
  }

  async get(id: string): Promise<PictureJob | null> {
    const [row] = await this.#sql<RawJob>(`select id, user_id, status, reason, attempts, replaced_picture_id from picture_job where id = ?`, [id]);
    return row ? job(row) : null;
  }

  /** The user's pending job, if any (the newest). */
  async pendingOf(userId: string): Promise<PictureJob | null> {
    const [row] = await this.#sql<RawJob>(
      `select id, user_id, status, reason, attempts, replaced_picture_id from picture_job where user_id = ? and status = 'pending' order by created_at desc limit 1`,
      [userId],
    );
    return row ? job(row) : null;
  }

  /**
   * The job's picture becomes the user's, if the job is still pending (not superseded or removed
   * meanwhile); records which picture it replaced on the job. Run again after a crash, it answers
   * the same. `false`: the job is no longer wanted.
   */
  async install(jobId: string, userId: string): Promise<{ installed: boolean; replaced: string | null }> {
    const now = this.#now();
    return this.#orm.em.fork().transactional(async (em) => {
      const [current] = await em.execute<RawJob[]>(`select status, replaced_picture_id from picture_job where id = ? for update`, [jobId], 'all');
      if (current?.status !== 'pending') return { installed: false, replaced: null };
      const [existing] = await em.execute<{ picture_id: string }[]>(`select picture_id from user_picture where user_id = ? for update`, [userId], 'all');
      if (existing?.picture_id === jobId) return { installed: true, replaced: current.replaced_picture_id };
      const replaced = existing?.picture_id ?? null;
      await em.execute(
        `insert into user_picture (user_id, picture_id, updated_at, checked_at) values (?, ?, ?, ?)
         on conflict (user_id) do update set picture_id = excluded.picture_id, updated_at = excluded.updated_at`,
        [userId, jobId, now, now],
        'run',
      );
      await em.execute(`update picture_job set replaced_picture_id = ?, updated_at = ? where id = ?`, [replaced, now, jobId], 'run');
      return { installed: true, replaced };
    });
  }

  async finish(jobId: string, outcome: { status: 'done' } | { status: 'failed'; reason: string }): Promise<void> {
    await this.#sql(`update picture_job set status = ?, reason = ?, lease_until = null, updated_at = ? where id = ? and status = 'pending'`, [
      outcome.status,
      outcome.status === 'failed' ? outcome.reason : null,
      this.#now(),
      jobId,
    ]);
  }

  /** The lease is given up early (a dependency was down): the job is taken again after `retryAt`. */
  async retryAt(jobId: string, retryAt: Date): Promise<void> {
    await this.#sql(`update picture_job set lease_until = ?, updated_at = ? where id = ? and status = 'pending'`, [retryAt, this.#now(), jobId]);
  }

  async pictureOf(userId: string): Promise<string | null> {
    const [row] = await this.#sql<{ picture_id: string }>(`select picture_id from user_picture where user_id = ?`, [userId]);
    return row?.picture_id ?? null;
  }

  /** Whether this picture id is someone's current picture. */
  async isCurrent(pictureId: string): Promise<boolean> {
    const rows = await this.#sql<{ one: number }>(`select 1 as one from user_picture where picture_id = ?`, [pictureId]);
    return rows.length > 0;
  }

  /** The user's current picture and pending jobs, as `removeAllOf` would name them (nothing changed). */
  async allOf(userId: string): Promise<{ pictureId: string | null; jobIds: string[] }> {
    const jobs = await this.#sql<{ id: string }>(`select id from picture_job where user_id = ? and status = 'pending'`, [userId]);
    return { pictureId: await this.pictureOf(userId), jobIds: jobs.map((j) => j.id) };
  }

  /**
   * Forgets the user's picture and stops their pending jobs; what is left to delete in the object
   * store: the picture, and the uploads of the jobs stopped.
   */
  async removeAllOf(userId: string): Promise<{ pictureId: string | null; jobIds: string[] }> {
    const now = this.#now();
    return this.#orm.em.fork().transactional(async (em) => {
      const removed = await em.execute<{ picture_id: string }[]>(`delete from user_picture where user_id = ? returning picture_id`, [userId], 'all');
      const jobs = await em.execute<{ id: string }[]>(
        `update picture_job set status = 'superseded', lease_until = null, updated_at = ? where user_id = ? and status = 'pending' returning id`,
        [now, userId],
        'all',
      );
      return { pictureId: removed[0]?.picture_id ?? null, jobIds: jobs.map((j) => j.id) };
    });
  }

  /** Users with a picture whose account was checked longest ago (the sweep's next batch); marked checked now. */
  async nextToCheck(limit: number): Promise<string[]> {
    const now = this.#now();
    const rows = await this.#sql<{ user_id: string }>(
      `update user_picture set checked_at = ? where user_id in (select user_id from user_picture order by checked_at limit ? for update skip locked) returning user_id`,
      [now, limit],
    );
    return rows.map((r) => r.user_id);
  }

  /** Jobs that ended before `before` (their rows only: their uploads were removed when they ended). */
  async purgeFinishedJobs(before: Date): Promise<number> {
    const rows = await this.#sql<{ id: string }>(`delete from picture_job where status <> 'pending' and updated_at < ? returning id`, [before]);
    return rows.length;
  }
}
