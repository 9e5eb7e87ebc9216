import type { Feature } from '../../http/feature.ts';
import type { AccessTokenDeps } from '../../http/bearer.ts';
import type { InvitationAcceptance } from '../../invitations/invitations.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { invitationApiRouter, invitationAssets, invitationRouter } from './routes.ts';

export interface InvitationFlowWiring {
  config: { invitationAcceptsPerIpPerHour: number; clientId: string; userApiTokenClients: readonly string[] };
  invitations: InvitationAcceptance;
  limiter: RateLimiter;
  accessTokens: AccessTokenDeps['accessTokens'];
  identityDirectory: AccessTokenDeps['directory'];
}

/** Accepting an invitation: the link's pages, the new-account form and the signed-in accept of the portal. */
export function wireInvitationFlow(w: InvitationFlowWiring): Feature {
  const acceptsPerIp = {
    name: 'invitation-accept-ip',
    per: 'ip' as const,
    max: w.config.invitationAcceptsPerIpPerHour,
    windowSeconds: 3600,
    message: 'Too many invitation accepts from this network; try again later',
  };
  return {
    routers: [
      invitationRouter({ invitations: w.invitations, limiter: w.limiter, acceptsPerIp }),
      invitationApiRouter({
        invitations: w.invitations,
        limiter: w.limiter,
        acceptsPerIp,
        accessTokens: w.accessTokens,
        audience: w.config.clientId,
        clients: w.config.userApiTokenClients,
        directory: w.identityDirectory,
      }),
    ],
    assets: invitationAssets,
  };
}
