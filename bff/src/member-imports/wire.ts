import type { AccountService } from '../accounts/account-service.ts';
import type { Feature } from '../http/feature.ts';
import type { InvitationService } from '../invitations/invitation-service.ts';
import type { FieldEncryption } from '../kernel/crypto/field-encryption.ts';
import { keyedHash } from '../kernel/crypto/keyed-hash.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Orm } from '../persistence/orm.ts';
import type { ImporterDeps } from './importer.ts';
import { ImportStore } from './import-store.ts';
import { ImportWorker, type ImportWorkerDeps } from './worker.ts';

export interface MemberImportsWiring {
  config: {
    otpHashKey: string;
    defaultPhoneCountry: string;
    memberImportEnabled: boolean;
    memberImportMaxBytes: number;
    memberImportMaxRows: number;
    memberImportBatchSize: number;
    memberImportConcurrency: number;
    memberImportIntervalMs: number;
    memberImportLeaseMs: number;
    memberImportRetryBaseMs: number;
  };
  orm: Pick<Orm, 'em'>;
  fieldEncryption: FieldEncryption;
  identityDirectory: ImportWorkerDeps['directory'];
  accounts: Pick<AccountService, 'create'>;
  /** The invitation service (bff/src/invitations/); absent, imported members are not invited. */
  invitations?: Pick<InvitationService, 'create'> | undefined;
  logger: Logger;
}

export interface MemberImports {
  store: ImportStore;
  worker: ImportWorker;
  importer: Omit<ImporterDeps, 'store'>;
}

/**
 * State member imports (decision 0035): the store, the importer's settings and the worker, a
 * background job of every BFF process (MEMBER_IMPORT_ENABLED). No routes: the API is admin/member-imports.
 */
export function wireMemberImports(w: MemberImportsWiring): Feature & { imports: MemberImports } {
  const { config } = w;
  const store = new ImportStore({ orm: w.orm, encryption: w.fieldEncryption });
  const worker = new ImportWorker({
    store,
    directory: w.identityDirectory,
    accounts: w.accounts,
    invitations: w.invitations,
    // Per tenant and state user id: the same member, in any file, is made once.
    stateUserIdHash: (tenant, stateUserId) => keyedHash(config.otpHashKey, 'member-import-state-user-id', `${tenant}\u0000${stateUserId}`),
    logger: w.logger.child({ component: 'member-import' }),
    settings: {
      batchSize: config.memberImportBatchSize,
      concurrency: config.memberImportConcurrency,
      leaseMs: config.memberImportLeaseMs,
      intervalMs: config.memberImportIntervalMs,
      retryBaseMs: config.memberImportRetryBaseMs,
      retryMaxMs: 600_000,
    },
  });
  const importer: Omit<ImporterDeps, 'store'> = {
    hashKey: config.otpHashKey,
    settings: {
      defaultPhoneCountry: config.defaultPhoneCountry,
      maxBytes: config.memberImportMaxBytes,
      maxRows: config.memberImportMaxRows,
      batchSize: config.memberImportBatchSize,
    },
  };
  return { routers: [], jobs: config.memberImportEnabled ? [worker] : [], imports: { store, worker, importer } };
}
