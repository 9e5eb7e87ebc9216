import { isDomainError } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { DirectoryUser, IdentityDirectory } from '../ports/identity-directory.ts';
import type { UpstreamCore } from '../ports/upstream-core.ts';
import type { UserChangeFeed } from '../ports/user-change-feed.ts';
import { advanceCursor, diffSnapshots, mergeEvents, retryDelayMs, snapshotOf, type BackoffSettings } from './changes.ts';
import type { AttemptResult, OutboxRow, OutboxStore } from './outbox-store.ts';

export interface UpstreamSyncSettings extends BackoffSettings {
  /** Pause between passes when there was nothing to do. */
  intervalMs: number;
  /** Attempts of a row before it is `failed` (transient errors; refusals fail at once). */
  maxAttempts: number;
  /** Each pass re-reads this much before the cursor: events committed late are not missed (re-reads are no-ops). */
  lookBackMs: number;
  /** Events per feed page and rows per delivery pass. */
  batchSize: number;
}

export interface UpstreamSyncDeps {
  feed: Pick<UserChangeFeed, 'feeds' | 'read'>;
  directory: Pick<IdentityDirectory, 'getUser'>;
  upstream: Pick<UpstreamCore, 'updateProfile' | 'activateUser' | 'deactivateUser' | 'getUserByExternalId'>;
  store: OutboxStore;
  /** Drops what the BFF keeps about a user deleted in Keycloak (AccountService.forgetDeleted). */
  forgetDeleted: (userId: string) => Promise<void>;
  /** Tells the previous address of an e-mail changed in Keycloak's own pages (IdentifierChangeNotices; never throws). */
  emailChanged?: (change: { userId: string; previous: string; updated: string }) => Promise<void>;
  logger: Logger;
  settings: UpstreamSyncSettings;
  now?: () => number;
  random?: () => number;
}

/**
 * Keeps the upstream core in step with Keycloak for linked members (decision 0013):
 *  - record: reads Keycloak's user events with a durable cursor; a changed linked member becomes
 *    outbox rows with the fields that changed since the last recorded state (mirror); a deleted one
 *    a `delete` row. Members without an upstream link (prospective) are skipped.
 *  - deliver: sends due rows oldest first, one per user at a time, each with its row id as the
 *    Idempotency-Key; transient failures wait with exponential backoff and jitter, refusals and the
 *    last attempt leave the row `failed` (visible to admins, retryable), holding that user's later rows.
 * Both run in the BFF process; `stop()` lets the running pass finish.
 */
export class UpstreamSync {
  readonly #deps: UpstreamSyncDeps;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** Set by stop(): the running pass finishes its current row and leaves the rest for later. */
  #stopping = false;

  constructor(deps: UpstreamSyncDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#stopping = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .then((busy) => this.#schedule(busy ? 0 : this.#deps.settings.intervalMs))
        .catch(() => this.#schedule(this.#deps.settings.intervalMs));
    }, delayMs);
  }

  /** One pass: record, then deliver. True when there may be more to do right away. */
  async runOnce(): Promise<boolean> {
    let busy = false;
    try {
      busy = (await this.record()) || busy;
    } catch (err) {
      this.#deps.logger.warn({ err: safeError(err) }, 'upstream outbox: reading Keycloak events failed; retrying');
    }
    try {
      busy = (await this.deliver()) > 0 || busy;
    } catch (err) {
      this.#deps.logger.warn({ err: safeError(err) }, 'upstream outbox: delivery pass failed; retrying');
    }
    return busy;
  }

  /** Reads every feed from its cursor; true when a page was full. */
  async record(): Promise<boolean> {
    const { feed, store, settings } = this.#deps;
    let full = false;
    for (const name of feed.feeds) {
      // The first pass ever starts now: history before the outbox existed is not replayed.
      const result = await store.withCursor(name, this.#now(), async (tx, cursor) => {
        const page = await feed.read(name, cursor.position - settings.lookBackMs, settings.batchSize);
        const { fresh, next } = advanceCursor(cursor, page.events, page.lastTime, settings.lookBackMs);
        // Every account's previous address is told, linked upstream or not (decision 0020).
        for (const event of fresh) if (event.emailChange) await this.#deps.emailChanged?.({ userId: event.userId, ...event.emailChange });
        const users = new Map<string, DirectoryUser | null>();
        for (const event of mergeEvents(fresh)) {
          if (event.change === 'deleted') {
            const mirror = await tx.mirror(event.userId);
            await tx.append({ userId: event.userId, upstreamUserId: mirror?.upstreamUserId ?? null, change: { kind: 'delete' }, sourceEventId: event.id });
            await tx.dropMirror(event.userId);
            // In the cursor's transaction: if it fails, the pass is retried with the event, nothing lost.
            await this.#deps.forgetDeleted(event.userId);
            continue;
          }
          if (!users.has(event.userId)) users.set(event.userId, await this.#deps.directory.getUser(event.userId));
          const user = users.get(event.userId);
          const upstreamUserId = user?.attributes.upstreamUserId?.[0];
          // Gone since (its delete event follows) or prospective (nothing upstream to change).
          if (!user || !upstreamUserId) continue;
          const current = snapshotOf(user);
          const mirror = await tx.mirror(user.id);
          const changes = diffSnapshots(mirror?.snapshot ?? null, current);
          for (const change of changes) await tx.append({ userId: user.id, upstreamUserId, change, sourceEventId: event.id });
          if (changes.length > 0 || mirror?.upstreamUserId !== upstreamUserId) await tx.setMirror(user.id, upstreamUserId, current);
        }
        await tx.advance(name, next);
        return page.full;
      });
      full = full || result === true;
    }
    return full;
  }

  /** Delivers due rows; returns how many were attempted. */
  async deliver(): Promise<number> {
    return this.#deps.store.deliverDue(
      this.#deps.settings.batchSize,
      (row) => this.#attempt(row),
      () => !this.#stopping,
    );
  }

  async #attempt(row: OutboxRow): Promise<AttemptResult> {
    const { upstream, settings, logger } = this.#deps;
    const key = { idempotencyKey: row.id };
    try {
      const upstreamUserId = row.upstreamUserId ?? (await upstream.getUserByExternalId(row.userId))?.id;
      // Never linked (a prospective member was deleted): nothing upstream to change.
      if (upstreamUserId === undefined) return { outcome: 'delivered' };
      const change = row.change;
      // Only delivered rows lose their payload, and only pending rows are delivered.
      if (change === null) throw new Error('outbox row without its change');
      if (change.kind === 'profile') await upstream.updateProfile(upstreamUserId, change.changes, key);
      else if (change.kind === 'status' && change.active) await upstream.activateUser(upstreamUserId, key);
      // A deleted account's profile is deactivated, as AccountService.delete does.
      else await upstream.deactivateUser(upstreamUserId, key);
      return { outcome: 'delivered' };
    } catch (err) {
      const code = errorCode(err);
      // The core deleted the member meanwhile: there is nothing left to change.
      if (code === 'CONFLICT:USER_DELETED') return { outcome: 'delivered' };
      const attempt = row.attempts + 1;
      const transient = isDomainError(err) && (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_FAILED');
      if (!transient || attempt >= settings.maxAttempts) {
        logger.error(
          { outboxId: row.id, userId: row.userId, kind: row.kind, attempt, errorCode: code },
          'upstream outbox: change failed; an admin can retry it',
        );
        return { outcome: 'failed', error: code };
      }
      const delay = retryDelayMs(attempt, settings, this.#deps.random);
      logger.warn({ outboxId: row.id, kind: row.kind, attempt, errorCode: code, delayMs: delay }, 'upstream outbox: delivery failed; will retry');
      return { outcome: 'retry', error: code, at: new Date(this.#now() + delay) };
    }
  }
}

/** A code for `last_error`: our error code and the core's, never a message (they can quote data). */
function errorCode(err: unknown): string {
  if (!isDomainError(err)) return 'INTERNAL';
  const upstreamCode = err.details.upstreamCode;
  return typeof upstreamCode === 'string' ? `${err.code}:${upstreamCode}` : err.code;
}
