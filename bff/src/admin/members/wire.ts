import type { Feature } from '../../http/feature.ts';
import { memberAdminRouter, type MemberAdminRouteDeps } from './routes.ts';
import { memberAdmin, type MemberAdmin, type MemberAdminDeps } from './use-cases.ts';

export interface MemberAdminWiring {
  config: { clientId: string };
  identityDirectory: MemberAdminDeps['directory'] & MemberAdminRouteDeps['directory'];
  accounts: MemberAdminDeps['accounts'];
  outbox: MemberAdminDeps['outbox'];
  accessTokens: MemberAdminRouteDeps['accessTokens'];
}

/** Member conversion and the upstream outbox's view: the admin API, and `admin`, what `npm run members` runs (bff/src/cli/members.ts). */
export function wireMemberAdmin(w: MemberAdminWiring): Feature & { admin: MemberAdmin } {
  const admin = memberAdmin({ directory: w.identityDirectory, accounts: w.accounts, outbox: w.outbox });
  return {
    routers: [memberAdminRouter({ admin, accessTokens: w.accessTokens, audience: w.config.clientId, directory: w.identityDirectory })],
    admin,
  };
}
