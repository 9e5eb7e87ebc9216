import type { Feature } from '../../http/feature.ts';
import type { MemberImports } from '../../member-imports/wire.ts';
import { IMPORT_UPLOAD_PATH, memberImportRouter, type MemberImportRouteDeps } from './routes.ts';
import { memberImportAdmin, type MemberImportAdmin, type MemberImportAdminDeps } from './use-cases.ts';

export interface MemberImportAdminWiring {
  config: { clientId: string };
  identityDirectory: MemberImportRouteDeps['directory'] & MemberImportAdminDeps['directory'];
  accessTokens: MemberImportRouteDeps['accessTokens'];
  memberImports: MemberImports;
}

/** Member imports' admin API (text/csv upload, progress, rows), and `admin`, what `npm run members -- import` runs. */
export function wireMemberImportAdmin(w: MemberImportAdminWiring): Feature & { admin: MemberImportAdmin } {
  const { store, worker, importer } = w.memberImports;
  const admin = memberImportAdmin({ store, worker, importer, directory: w.identityDirectory });
  return {
    routers: [memberImportRouter({ admin, accessTokens: w.accessTokens, audience: w.config.clientId, directory: w.identityDirectory })],
    streamedBodies: [{ path: IMPORT_UPLOAD_PATH, type: 'text/csv' }],
    admin,
  };
}
