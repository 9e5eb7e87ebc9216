import type { Readable } from 'node:stream';
import { maskIdentifier } from '../../accounts/identifiers.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { RefusalReason } from '../../member-imports/csv.ts';
import type { ImportCounts, ImportRecord, ImportStatus, ImportStore, RowResult } from '../../member-imports/import-store.ts';
import { receiveMemberFile, type ImporterDeps } from '../../member-imports/importer.ts';
import type { ImportWorker } from '../../member-imports/worker.ts';
import type { DirectoryTenant, IdentityDirectory } from '../../ports/identity-directory.ts';

/**
 * State member imports (decision 0035): an admin uploads a state's member file, then watches its
 * counts and reads its rows. The admin API (`routes.ts`) and `npm run members -- import`
 * (`bff/src/cli/members.ts`) share these.
 */
export interface MemberImportAdminDeps {
  store: ImportStore;
  importer: Omit<ImporterDeps, 'store'>;
  worker: ImportWorker;
  directory: Pick<IdentityDirectory, 'findOrganization'>;
}

export interface ImportView {
  id: string;
  tenant: string;
  status: ImportStatus;
  counts: ImportCounts;
  createdAt: string;
  finishedAt: string | null;
}

/** A row as an admin sees it: the state user id (theirs), identifiers masked, what became of it. */
export interface ImportRowView {
  line: number;
  stateUserId: string | null;
  email: string | null;
  phone: string | null;
  result: RowResult;
  reason: RefusalReason | null;
  invited: boolean;
  userId: string | null;
}

export interface ImportRowPage {
  items: ImportRowView[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

export interface MemberImportAdmin {
  /** `tenant` already resolved (requireTenantAdmin) or an alias (the CLI). */
  upload(input: { tenant: DirectoryTenant | string; uploadedBy: string; body: Readable; contentLength?: number }): Promise<ImportView>;
  get(tenant: string, id: string): Promise<ImportView>;
  rows(tenant: string, id: string, filter: { result?: RowResult; limit: number; cursor?: string }): Promise<ImportRowPage>;
  /** Works on this import's rows in this process (the CLI): how many rows this pass did. */
  work(id: string): Promise<number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function memberImportAdmin(deps: MemberImportAdminDeps): MemberImportAdmin {
  const find = async (tenant: string, id: string): Promise<ImportRecord> => {
    const record = UUID.test(id) ? await deps.store.get(id) : null;
    // Another tenant's import is as unknown as one that does not exist.
    if (!record || record.tenant !== tenant) throw new DomainError('NOT_FOUND', 'No such import');
    return record;
  };
  return {
    async upload(input) {
      const tenant = await stateTenant(deps, input.tenant);
      const id = await receiveMemberFile(
        { ...deps.importer, store: deps.store, received: () => deps.worker.wake() },
        {
          tenant: tenant.alias,
          uploadedBy: input.uploadedBy,
          body: input.body,
          ...(input.contentLength !== undefined ? { contentLength: input.contentLength } : {}),
        },
      );
      return view(await find(tenant.alias, id));
    },

    async get(tenant, id) {
      return view(await find(tenant, id));
    },

    async rows(tenant, id, filter) {
      await find(tenant, id);
      const after = filter.cursor === undefined ? 0 : Number(filter.cursor);
      if (!Number.isInteger(after) || after < 0) {
        throw new DomainError('VALIDATION_FAILED', 'The cursor is not valid', {
          fields: [{ field: 'cursor', reason: 'invalid_format', message: 'Use the nextCursor of the previous page' }],
        });
      }
      const rows = await deps.store.rows(id, { ...(filter.result ? { result: filter.result } : {}), after, limit: filter.limit + 1 });
      const page = rows.slice(0, filter.limit);
      return {
        items: page.map((r) => ({
          line: r.line,
          stateUserId: r.member.stateUserId ?? null,
          email: r.member.email ? maskIdentifier({ kind: 'email', value: r.member.email }) : null,
          phone: r.member.phone ? maskIdentifier({ kind: 'phone', value: r.member.phone }) : null,
          result: r.result,
          reason: r.reason,
          invited: r.invited,
          userId: r.userId,
        })),
        nextCursor: rows.length > filter.limit ? String(page.at(-1)!.line) : null,
      };
    },

    work(id) {
      return deps.worker.runOnce(id);
    },
  };
}

/** Only a state tenant's members are imported (`tenantType` state): the custodian's come by themselves. */
async function stateTenant(deps: MemberImportAdminDeps, tenant: DirectoryTenant | string): Promise<DirectoryTenant> {
  const found = typeof tenant === 'string' ? await deps.directory.findOrganization(tenant) : tenant;
  if (!found) throw new DomainError('NOT_FOUND', 'No such tenant');
  if (found.attributes.tenantType?.[0] !== 'state') {
    throw new DomainError('CONFLICT', `Members are imported into a state tenant; ${found.alias} is not one`, {
      fields: [{ field: 'tenant', reason: 'not_a_state_tenant', message: 'Only a state tenant takes a member file' }],
    });
  }
  return found;
}

function view(r: ImportRecord): ImportView {
  return {
    id: r.id,
    tenant: r.tenant,
    status: r.status,
    counts: r.counts,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}
