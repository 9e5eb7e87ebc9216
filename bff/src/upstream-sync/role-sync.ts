import { isDomainError } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { UpstreamCore } from '../ports/upstream-core.ts';
import { retryDelayMs, type BackoffSettings } from './changes.ts';
import type { RoleFeedCursor } from './role-feed-cursor.ts';
import { entriesToApply, sameValues, UPSTREAM_ROLES_ATTRIBUTE, upstreamRoleValues } from './upstream-roles.ts';

export interface UpstreamRoleSyncSettings extends BackoffSettings {
  /** Pause between passes that found the feed read to its end (UPSTREAM_ROLES_POLL_MS). */
  intervalMs: number;
  /** Feed entries per read. */
  batchSize: number;
}

export interface UpstreamRoleSyncDeps {
  upstream: Pick<UpstreamCore, 'membershipChanges' | 'getUser' | 'listMemberships'>;
  directory: Pick<IdentityDirectory, 'getUser' | 'updateUser'>;
  cursor: Pick<RoleFeedCursor, 'withCursor'>;
  logger: Logger;
  settings: UpstreamRoleSyncSettings;
  random?: () => number;
  now?: () => number;
}

/**
 * How long a new account that is still disabled or not yet linked (`upstreamUserId`) is left to the
 * flow provisioning it. Those flows (AccountService.create, the state claim) write the account whole
 * (GET + PUT) once more when they finish; a roles write of ours in between could undo theirs, or theirs
 * ours. So the feed waits at that entry until the account is done, or this long at most.
 */
export const PROVISIONING_GRACE_MS = 120_000;

/** What applying one member's state did (counted in /metrics by outcome). */
export type ApplyOutcome = 'written' | 'unchanged' | 'unlinked' | 'no_account' | 'refused';

/**
 * How a pass ended: `busy` there may be more right away; `idle` read to the end; `locked` another
 * process reads the feed; `waiting` an account is still being provisioned; `failed` a dependency is down.
 */
export type PassOutcome = 'busy' | 'idle' | 'locked' | 'waiting' | 'failed';

/** Thrown by #apply: the account is being provisioned right now (see PROVISIONING_GRACE_MS). */
class Provisioning extends Error {}

/**
 * Copies members' roles from the upstream core into Keycloak (decision 0033). It follows the core's
 * change feed (GET /v1/membership-changes) from a cursor in the BFF's database; for each member named
 * it reads the member's current status and memberships from the core and writes them as the
 * `upstreamRoles` attribute of the Keycloak user whose id is the member's externalId. Applying the
 * current state, not the entry, makes a replayed or reordered entry harmless.
 *
 * One process reads the feed at a time (the cursor's advisory lock); the others skip the pass. When
 * the core or Keycloak is down the pass stops at that entry, keeps what it applied, and the next pass
 * (with exponential backoff) starts there: nothing is lost. An entry the core or Keycloak refuses for
 * good (NOT_FOUND, VALIDATION_FAILED) is logged and passed, so one bad member does not hold the rest.
 * An account still being provisioned (new, and disabled or not linked yet) holds the feed at its entry
 * for PROVISIONING_GRACE_MS at most, so that the two whole-user writes do not undo each other.
 */
export class UpstreamRoleSync {
  readonly #deps: UpstreamRoleSyncDeps;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** Passes failed in a row: the backoff's exponent. */
  #failures = 0;
  readonly applied: Record<ApplyOutcome, number> = { written: 0, unchanged: 0, unlinked: 0, no_account: 0, refused: 0 };

  constructor(deps: UpstreamRoleSyncDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().then((outcome) => this.#schedule(this.#delayAfter(outcome)));
    }, delayMs);
  }

  #delayAfter(outcome: PassOutcome): number {
    const { settings, random } = this.#deps;
    if (outcome === 'busy') return 0;
    // An account being provisioned is usually done within a second.
    if (outcome === 'waiting') return Math.min(settings.intervalMs, 1000);
    if (outcome === 'failed') return Math.max(settings.intervalMs, retryDelayMs(this.#failures, settings, random));
    return settings.intervalMs;
  }

  /** One pass: read a page after the cursor, apply it, advance past what was applied. Never throws. */
  async runOnce(): Promise<PassOutcome> {
    const { upstream, cursor, settings, logger } = this.#deps;
    try {
      const outcome = await cursor.withCursor(async (held): Promise<PassOutcome> => {
        const page = await upstream.membershipChanges(held.position, settings.batchSize);
        let done = held.position;
        for (const { change, skip } of entriesToApply(page.changes)) {
          if (!skip) {
            try {
              this.#count(await this.#apply(change.userId));
            } catch (err) {
              // Down, or an account being provisioned (#apply passes refusals over): keep what was
              // applied; this entry is the first of the next pass.
              await held.advance(done, false);
              if (err instanceof Provisioning) {
                logger.info({ seq: change.seq, outcome: 'waiting' }, 'upstream roles: the account is being provisioned; waiting at this entry');
                return 'waiting';
              }
              logger.warn({ seq: change.seq, errorCode: errorCode(err) }, 'upstream roles: a dependency is down; will resume at this entry');
              return 'failed';
            }
          }
          done = change.seq;
        }
        const full = page.changes.length >= settings.batchSize;
        await held.advance(Math.max(done, page.next), !full);
        return full ? 'busy' : 'idle';
      });
      if (outcome === 'failed') this.#failures += 1;
      else if (outcome !== null && outcome !== 'waiting') this.#failures = 0;
      return outcome ?? 'locked';
    } catch (err) {
      this.#failures += 1;
      logger.warn({ err: safeError(err), errorCode: errorCode(err), failures: this.#failures }, 'upstream roles: pass failed; retrying with backoff');
      return 'failed';
    }
  }

  /** Writes the member's current roles onto their Keycloak user. */
  async #apply(upstreamUserId: string): Promise<ApplyOutcome> {
    const { upstream, directory, logger } = this.#deps;
    try {
      const member = await upstream.getUser(upstreamUserId);
      if (!member?.externalId) return 'unlinked';
      const account = await directory.getUser(member.externalId);
      if (!account) return 'no_account';
      const young = account.createdAt !== undefined && this.#now() - account.createdAt.getTime() < PROVISIONING_GRACE_MS;
      if (young && (!account.enabled || !account.attributes.upstreamUserId?.length)) throw new Provisioning();
      const memberships = member.status === 'active' ? await upstream.listMemberships(member.id) : [];
      const values = upstreamRoleValues(member.status, memberships);
      if (sameValues(account.attributes[UPSTREAM_ROLES_ATTRIBUTE], values)) return 'unchanged';
      await directory.updateUser(account.id, { attributes: { [UPSTREAM_ROLES_ATTRIBUTE]: values } });
      logger.info({ userId: account.id, upstreamUserId, roles: values.length }, 'upstream roles: applied');
      return 'written';
    } catch (err) {
      if (err instanceof Provisioning || isTransient(err)) throw err;
      // Ids and a code only: the member's data stays out of the log.
      logger.error({ upstreamUserId, errorCode: errorCode(err) }, 'upstream roles: the change was refused; passed over');
      return 'refused';
    }
  }

  #count(outcome: ApplyOutcome): void {
    this.applied[outcome] += 1;
  }
}

/** Down or failing dependencies (retry later); anything else is a refusal of this entry. */
function isTransient(err: unknown): boolean {
  if (!isDomainError(err)) return true;
  return ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_FAILED', 'IDENTITY_DIRECTORY_UNAVAILABLE', 'IDENTITY_DIRECTORY_FAILED', 'DEPENDENCY_UNAVAILABLE'].includes(
    err.code,
  );
}

function errorCode(err: unknown): string {
  if (!isDomainError(err)) return 'INTERNAL';
  const upstreamCode = err.details.upstreamCode;
  return typeof upstreamCode === 'string' ? `${err.code}:${upstreamCode}` : err.code;
}
