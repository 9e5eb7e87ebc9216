import type { Feature } from '../../http/feature.ts';
import type { InvitationService } from '../../invitations/invitation-service.ts';
import { invitationAdminRouter, type InvitationAdminRouteDeps } from './routes.ts';

export interface InvitationAdminWiring {
  config: { clientId: string };
  identityDirectory: InvitationAdminRouteDeps['directory'];
  accessTokens: InvitationAdminRouteDeps['tokens'];
  invitations: InvitationAdminRouteDeps['invitations'];
}

/** The invitations' admin API; `npm run members -- invite|invitations|resend|revoke` calls the same service. */
export function wireInvitationAdmin(w: InvitationAdminWiring): Feature & { admin: InvitationService } {
  return {
    routers: [invitationAdminRouter({ invitations: w.invitations, tokens: w.accessTokens, audience: w.config.clientId, directory: w.identityDirectory })],
    admin: w.invitations,
  };
}
