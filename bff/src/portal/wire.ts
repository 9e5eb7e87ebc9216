import type { Feature } from '../http/feature.ts';
import type { Logger } from '../kernel/logger.ts';
import type { PartnerStore } from '../partners/partner-store.ts';
import { loadPortalBuild, portalRouter } from './portal.ts';

export interface PortalWiring {
  config: { keycloakUrl: string; realm: string; portalClientId: string; portalStateIdp: string; portalGoogleIdp: string };
  partners: Pick<PartnerStore, 'frameOriginsOf'>;
  logger: Logger;
}

/** The demo portal and the partner super component, served from portal/dist (built by `node portal/build.ts`). */
export function wirePortal({ config, partners, logger }: PortalWiring): Feature {
  const build = loadPortalBuild();
  if (!build) logger.warn('the portal is not built (node portal/build.ts): /portal/ answers 503');
  return {
    routers: [
      portalRouter({
        keycloakUrl: config.keycloakUrl,
        realm: config.realm,
        clientId: config.portalClientId,
        stateIdp: config.portalStateIdp,
        googleIdp: config.portalGoogleIdp,
        build,
        frameOriginsOf: (clientId) => partners.frameOriginsOf(clientId),
      }),
    ],
    ...(build ? { assets: build.assets } : {}),
  };
}
