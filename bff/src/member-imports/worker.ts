import type { AccountService } from '../accounts/account-service.ts';
import { isDomainError, type ErrorCode } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { InvitationService } from '../invitations/invitation-service.ts';
import type { DirectoryUser, IdentityDirectory } from '../ports/identity-directory.ts';
import type { MemberRow, RefusalReason } from './csv.ts';
import type { ImportRow, ImportStore } from './import-store.ts';

export interface ImportWorkerDeps {
  store: ImportStore;
  directory: Pick<
    IdentityDirectory,
    'getUser' | 'findUsersByAttribute' | 'findUsersByEmail' | 'organizationsOf' | 'updateUser' | 'credentialTypes' | 'federatedIdentitiesOf'
  >;
  accounts: Pick<AccountService, 'create'>;
  /** Absent: rows are created or matched, nobody is invited (`invited` false). */
  invitations?: Pick<InvitationService, 'create'> | undefined;
  /** A keyed hash of tenant + state user id (the id is PII): the row's lookup key, and the create's idempotency key. */
  stateUserIdHash: (tenant: string, stateUserId: string) => string;
  logger: Logger;
  settings: {
    /** Rows leased per pass. */
    batchSize: number;
    /** Rows of a batch worked on at once. */
    concurrency: number;
    /** How long a worker holds a row; a crashed worker's rows are taken again after it. */
    leaseMs: number;
    /** Pause between passes when there was nothing to do. */
    intervalMs: number;
    /** Delay of a row whose dependency was down: base * 2^(attempts-1), at most max. */
    retryBaseMs: number;
    retryMaxMs: number;
  };
  now?: () => number;
}

/** What became of one row. */
export type RowOutcome = { result: 'created' | 'matched'; userId: string; invited: boolean } | { result: 'refused'; reason: RefusalReason; userId?: string };

/** Dependencies that are down or failing: the row waits and is tried again, it is never refused for it. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  'IDENTITY_DIRECTORY_UNAVAILABLE',
  'IDENTITY_DIRECTORY_FAILED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_FAILED',
  'DEPENDENCY_UNAVAILABLE',
  'DELIVERY_FAILED',
  'RATE_LIMITED',
]);

/**
 * Works on the rows of member imports (decision 0035): a background job in every BFF process (and
 * in `npm run members -- import`, which is just one more worker). Each pass leases a batch of due
 * rows (import-store.ts, SKIP LOCKED), works on them a few at a time, records each result, and marks
 * the imports whose last row that was done. Every step of a row is idempotent, so a row whose
 * worker died half-way is simply done again once its lease is over; a dependency that is down leaves
 * the row pending with a backoff, never refused.
 */
export class ImportWorker {
  readonly #deps: ImportWorkerDeps;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(deps: ImportWorkerDeps) {
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

  /** A file was just received here: start a pass now rather than after the interval. */
  wake(): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .catch((err: unknown) => {
          this.#deps.logger.warn({ err: safeError(err) }, 'member import: pass failed; retrying');
          return 0;
        })
        .then((worked) => {
          this.#running = undefined;
          this.#schedule(worked > 0 ? 0 : this.#deps.settings.intervalMs);
        });
    }, delayMs);
  }

  /** One pass (of one import's rows when `importId` is given): how many rows were worked on. */
  async runOnce(importId?: string): Promise<number> {
    const { store, settings } = this.#deps;
    const rows = await store.claim(settings.batchSize, settings.leaseMs, importId);
    let next = 0;
    const lane = async () => {
      while (next < rows.length && (importId !== undefined || !this.#stopped)) await this.#work(rows[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, rows.length) }, lane));
    // Rows left unworked (stopping) keep their lease until it runs out, then another worker takes them.
    for (const id of new Set(rows.map((r) => r.importId))) await store.finishIfComplete(id);
    return rows.length;
  }

  async #work(row: ImportRow): Promise<void> {
    const { store, settings } = this.#deps;
    try {
      const outcome = await this.processRow(row);
      await store.settle(row.seq, outcome.result === 'refused' ? outcome : { result: outcome.result, invited: outcome.invited, userId: outcome.userId });
    } catch (err) {
      const code = isDomainError(err) ? err.code : 'INTERNAL';
      if (!TRANSIENT.has(code) && isDomainError(err) && !(err.code === 'CONFLICT' && err.details.reason === 'creation_in_progress')) {
        // A refusal nobody foresaw: recorded on the row with its code, never its data.
        this.#deps.logger.warn({ errorCode: code, line: row.line }, 'member import: row refused by a later step');
        await store.settle(row.seq, { result: 'refused', reason: 'account_refused' });
        return;
      }
      if (!isDomainError(err)) this.#deps.logger.warn({ err: safeError(err), line: row.line }, 'member import: row failed; retrying later');
      const delay = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, row.attempts - 1));
      await store.retryLater(row.seq, code, new Date(this.#now() + delay));
    }
  }

  /**
   * One row: find or create its account in the tenant, then invite. Throws what a dependency threw
   * (the caller retries the row later); answers refusals as outcomes.
   */
  async processRow(row: ImportRow): Promise<RowOutcome> {
    const member = row.member as MemberRow;
    let userId = row.userId;
    let outcome = row.accountOutcome;
    if (userId === null || outcome === null) {
      const hash = this.#deps.stateUserIdHash(row.tenant, member.stateUserId);
      const account = await this.#account(row.tenant, member, hash);
      if ('refused' in account) return { result: 'refused', reason: account.refused };
      ({ userId, outcome } = account);
      await this.#deps.store.accountDone(row.seq, userId, outcome, hash);
    }
    let invited = false;
    try {
      invited = await this.#invite(row, member, userId, outcome);
    } catch (err) {
      // The account stands; an invitation the service refuses (not a dependency down) is an admin's to send.
      if (!isDomainError(err) || TRANSIENT.has(err.code)) throw err;
      this.#deps.logger.warn({ errorCode: err.code, line: row.line }, 'member import: invitation refused');
    }
    return { result: outcome, userId, invited };
  }

  async #account(tenant: string, member: MemberRow, hash: string): Promise<{ userId: string; outcome: 'created' | 'matched' } | { refused: RefusalReason }> {
    const { directory, accounts, store } = this.#deps;
    const inTenant = async (user: DirectoryUser) => (await directory.organizationsOf(user.id)).some((o) => o.alias === tenant);

    // 1. An earlier import settled this tenant's state user id on an account that still has it: that is
    // the person. (Looked up in our rows, not by Keycloak's attribute search, which scans: seconds a
    // row on a large realm, bench:import. An account given the id elsewhere is found by step 3.)
    const earlier = await store.accountOf(hash);
    const known = earlier ? await directory.getUser(earlier) : null;
    if (known?.attributes.stateUserId?.includes(member.stateUserId) && (await inTenant(known))) return { userId: known.id, outcome: 'matched' };

    // 2. A new account in the tenant, its identifiers unproven (an admin's file proves nothing). Tried
    // first: its own checks find who holds an identifier, so a new member costs no look-up of ours.
    try {
      const created = await accounts.create(
        {
          firstName: member.firstName,
          ...(member.lastName ? { lastName: member.lastName } : {}),
          ...(member.email ? { email: member.email } : {}),
          ...(member.phone ? { phone: member.phone } : {}),
          emailVerified: false,
          phoneVerified: false,
          signUpType: 'onboard',
          tenant,
          stateUserId: member.stateUserId,
          ...(member.userType ? { userType: member.userType } : {}),
        },
        { idempotencyKey: `member-import:${hash}` },
      );
      // A replay (another worker, or a crash after the create) found it made already.
      return { userId: created.userId, outcome: created.created ? 'created' : 'matched' };
    } catch (err) {
      if (!isDomainError(err)) throw err;
      if (err.code === 'ACCOUNT_EXISTS') return this.#holderOf(member, inTenant);
      if (err.code === 'VALIDATION_FAILED' && err.fields.some((f) => f.field === 'userType')) return { refused: 'user_type_invalid' };
      throw err;
    }
  }

  /**
   * 3. An identifier of the row is taken: the account holding it is the person only when it is this
   * tenant's (it gets the state user id); one of another tenant is never moved (the state claim moves
   * it when the person proves it); nobody found (an upstream-only member, an account being made).
   */
  async #holderOf(
    member: MemberRow,
    inTenant: (user: DirectoryUser) => Promise<boolean>,
  ): Promise<{ userId: string; outcome: 'matched' } | { refused: RefusalReason }> {
    const { directory } = this.#deps;
    const holders = new Map<string, DirectoryUser>();
    if (member.email) for (const u of await directory.findUsersByEmail(member.email)) holders.set(u.id, u);
    if (member.phone) for (const u of await directory.findUsersByAttribute('phone', member.phone)) holders.set(u.id, u);
    if (holders.size > 1) return { refused: 'identifiers_on_different_accounts' };
    const [holder] = holders.values();
    if (!holder || !(await inTenant(holder))) return { refused: 'identifier_in_other_tenant' };
    const existing = holder.attributes.stateUserId?.[0];
    if (existing && existing !== member.stateUserId) return { refused: 'state_user_id_mismatch' };
    if (!existing) await directory.updateUser(holder.id, { attributes: { stateUserId: [member.stateUserId] } });
    return { userId: holder.id, outcome: 'matched' };
  }

  /**
   * An invitation for a person who cannot sign in yet: a new account, or a matched one with no
   * password and no identity provider link. One who already signs in is not invited again.
   */
  async #invite(row: ImportRow, member: MemberRow, userId: string, outcome: 'created' | 'matched'): Promise<boolean> {
    const { invitations, directory } = this.#deps;
    if (!invitations) return false;
    if (outcome === 'matched') {
      const [credentials, links] = await Promise.all([directory.credentialTypes(userId), directory.federatedIdentitiesOf(userId)]);
      if (credentials.includes('password') || links.length > 0) return false;
    }
    await invitations.create({
      tenant: row.tenant,
      ...(member.email ? { email: member.email } : { phone: member.phone! }),
      userId,
      stateUserId: member.stateUserId,
      firstName: member.firstName,
      ...(member.lastName ? { lastName: member.lastName } : {}),
      invitedBy: row.uploadedBy,
      source: 'import',
    });
    return true;
  }
}
