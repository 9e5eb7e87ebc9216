import type { Feature } from '../../http/feature.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { PartnerClients } from '../../ports/partner-clients.ts';
import { partnerAdminRouter, type PartnerAdminRouteDeps } from './routes.ts';
import { partnerAdmin, type PartnerAdmin } from './use-cases.ts';

export interface PartnerAdminWiring {
  config: { clientId: string; partnerFrameOriginsAllowHttp: boolean };
  partners: PartnerStore;
  partnerClients: PartnerClients;
  accessTokens: PartnerAdminRouteDeps['accessTokens'];
  identityDirectory: PartnerAdminRouteDeps['directory'];
}

/** Partner administration: the admin API, and `admin`, the same use cases `npm run partner` runs (bff/src/cli/partner.ts). */
export function wirePartnerAdmin(w: PartnerAdminWiring): Feature & { admin: PartnerAdmin } {
  const admin = partnerAdmin({ store: w.partners, clients: w.partnerClients, allowHttpFrameOrigins: w.config.partnerFrameOriginsAllowHttp });
  return {
    routers: [partnerAdminRouter({ admin, accessTokens: w.accessTokens, audience: w.config.clientId, directory: w.identityDirectory })],
    admin,
  };
}
