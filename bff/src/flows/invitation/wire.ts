import type { Feature } from '../../http/feature.ts';
import type { InvitationAcceptance } from '../../invitations/invitations.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { invitationAssets, invitationRouter } from './routes.ts';

export interface InvitationFlowWiring {
  config: { invitationAcceptsPerIpPerHour: number };
  invitations: InvitationAcceptance;
  limiter: RateLimiter;
}

/** Accepting an invitation: the link's pages and their two forms. */
export function wireInvitationFlow(w: InvitationFlowWiring): Feature {
  return {
    routers: [
      invitationRouter({
        invitations: w.invitations,
        limiter: w.limiter,
        acceptsPerIp: {
          name: 'invitation-accept-ip',
          per: 'ip',
          max: w.config.invitationAcceptsPerIpPerHour,
          windowSeconds: 3600,
          message: 'Too many invitation accepts from this network; try again later',
        },
      }),
    ],
    assets: invitationAssets,
  };
}
