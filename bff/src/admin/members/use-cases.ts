import type { AccountService } from '../../accounts/account-service.ts';
import { DomainError, type FieldIssue } from '../../kernel/errors.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import { resyncChanges, snapshotOf } from '../../upstream-sync/changes.ts';
import type { OutboxRow, OutboxStatus, OutboxStore } from '../../upstream-sync/outbox-store.ts';

/**
 * Administration of members across Keycloak and the upstream core (decision 0013): converting a
 * prospective member (a Keycloak account without an upstream link) into an active one, and watching
 * the upstream outbox. The admin API (`routes.ts`) and `npm run members` (`bff/src/cli/members.ts`) share these.
 */
export interface MemberAdminDeps {
  directory: Pick<IdentityDirectory, 'getUser'>;
  accounts: Pick<AccountService, 'ensureProvisioned'>;
  outbox: OutboxStore;
}

export interface ConversionView {
  userId: string;
  upstreamUserId: string;
  /** true when this call created the upstream account; false when it was linked already. */
  converted: boolean;
}

/** What an admin sees of an outbox row: field names, never the values (PII). */
export interface OutboxRowView {
  id: string;
  seq: number;
  userId: string;
  upstreamUserId: string | null;
  kind: OutboxRow['kind'];
  fields: string[];
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface OutboxListing {
  items: OutboxRowView[];
  counts: Record<OutboxStatus, number>;
  /** How far Keycloak's events have been read. */
  feeds: { feed: string; readUpTo: string }[];
}

export interface MemberAdmin {
  convert(userId: string): Promise<ConversionView>;
  listOutbox(filter: { status?: OutboxStatus; userId?: string; limit: number }): Promise<OutboxListing>;
  getOutboxRow(id: string): Promise<OutboxRowView>;
  retryOutboxRow(id: string): Promise<OutboxRowView>;
  skipOutboxRow(id: string): Promise<OutboxRowView>;
  /** Queues the member's whole current profile and status for the core (after a skip, or any drift). */
  resyncMember(userId: string): Promise<{ userId: string; rows: OutboxRowView[] }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function memberAdmin(deps: MemberAdminDeps): MemberAdmin {
  return {
    convert(userId) {
      // Concurrent conversions of one user: ensureProvisioned runs one at a time per user, so the
      // second finds the link the first set (converted: false).
      return convert(deps, userId);
    },

    async listOutbox(filter) {
      const [rows, counts, cursors] = await Promise.all([deps.outbox.list(filter), deps.outbox.counts(), deps.outbox.cursors()]);
      return { items: rows.map(view), counts, feeds: cursors.map((c) => ({ feed: c.feed, readUpTo: c.position.toISOString() })) };
    },

    async getOutboxRow(id) {
      const row = UUID.test(id) ? await deps.outbox.get(id) : null;
      if (!row) throw new DomainError('NOT_FOUND', 'No such outbox row');
      return view(row);
    },

    retryOutboxRow(id) {
      return onFailedRow(deps, id, 'retried', (rowId) => deps.outbox.retry(rowId));
    },

    // For a change the core will never take (the member's later changes wait behind it): the core
    // keeps its old value for it until the next change of those fields, or a resync.
    skipOutboxRow(id) {
      return onFailedRow(deps, id, 'skipped', (rowId) => deps.outbox.skip(rowId));
    },

    // The rows queue behind the member's undelivered ones (order per member): a failed row still
    // holds them until it is retried or skipped.
    async resyncMember(userId) {
      const user = await deps.directory.getUser(userId);
      if (!user) throw new DomainError('NOT_FOUND', 'No such account');
      const upstreamUserId = user.attributes.upstreamUserId?.[0];
      if (!upstreamUserId) {
        throw new DomainError('CONFLICT', 'This account has no upstream account to bring up to date; convert it first', {
          fields: [{ field: 'upstreamUserId', reason: 'not_linked', message: 'The account is not linked to the upstream core' }],
        });
      }
      const current = snapshotOf(user);
      const rows = await deps.outbox.resync(userId, upstreamUserId, current, resyncChanges(current));
      return { userId, rows: rows.map(view) };
    },
  };
}

/**
 * Idempotent: a linked member answers its link (converted false). The upstream account is made
 * with the Keycloak id as externalId (the core deduplicates on it: concurrent calls make one),
 * then the link and the custodian tenant are set in Keycloak (AccountService.ensureProvisioned).
 * A dependency down before the upstream create: 503, nothing written; after it: 503, and the retry
 * finds the upstream account by externalId and completes.
 */
async function convert(deps: MemberAdminDeps, userId: string): Promise<ConversionView> {
  const user = await deps.directory.getUser(userId);
  if (!user) throw new DomainError('NOT_FOUND', 'No such account');
  const linked = user.attributes.upstreamUserId?.[0];
  if (linked) return { userId, upstreamUserId: linked, converted: false };
  const issues: FieldIssue[] = [];
  if (!user.enabled) issues.push({ field: 'enabled', reason: 'disabled', message: 'A disabled account cannot become a member; enable it first' });
  if (!user.firstName?.trim())
    issues.push({ field: 'firstName', reason: 'required', message: 'The upstream core needs a first name; set it in Keycloak first' });
  if (!user.email && !user.attributes.phone?.[0]) issues.push({ field: 'email', reason: 'required', message: 'The account needs an email or a phone number' });
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'This account cannot be converted yet', { fields: issues });
  const { upstreamUserId, created } = await deps.accounts.ensureProvisioned(userId, { signUpType: 'api' });
  return { userId, upstreamUserId, converted: created };
}

/** An admin action only a failed row allows: NOT_FOUND for no such row, CONFLICT naming its status otherwise. */
async function onFailedRow(deps: MemberAdminDeps, id: string, done: string, act: (id: string) => Promise<OutboxRow | null>): Promise<OutboxRowView> {
  if (!UUID.test(id)) throw new DomainError('NOT_FOUND', 'No such outbox row');
  const row = await act(id);
  if (row) return view(row);
  const existing = await deps.outbox.get(id);
  if (!existing) throw new DomainError('NOT_FOUND', 'No such outbox row');
  throw new DomainError('CONFLICT', `Only a failed row can be ${done}; this one is ${existing.status}`, {
    fields: [{ field: 'status', reason: 'not_failed', message: `The row is ${existing.status}` }],
  });
}

function view(r: OutboxRow): OutboxRowView {
  return {
    id: r.id,
    seq: r.seq,
    userId: r.userId,
    upstreamUserId: r.upstreamUserId,
    kind: r.kind,
    fields: r.fields,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
  };
}
