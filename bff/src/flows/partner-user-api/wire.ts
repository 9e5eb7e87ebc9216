import type { Feature } from '../../http/feature.ts';
import { PARTNER_API_AUDIENCE } from '../../ports/partner-user-tokens.ts';
import { partnerUserApiRouter, type PartnerUserApiDeps } from './routes.ts';

export interface PartnerUserApiWiring {
  config: { partnerUserTokenClientId: string };
  accessTokens: PartnerUserApiDeps['accessTokens'];
  identityDirectory: PartnerUserApiDeps['directory'];
  partners: PartnerUserApiDeps['partners'];
}

/** The platform API a partner calls with a userToken (`GET /api/partner/v1/user`). */
export function wirePartnerUserApi({ config, accessTokens, identityDirectory, partners }: PartnerUserApiWiring): Feature {
  return {
    routers: [
      partnerUserApiRouter({
        accessTokens,
        directory: identityDirectory,
        partners,
        audience: PARTNER_API_AUDIENCE,
        userTokenClientId: config.partnerUserTokenClientId,
      }),
    ],
  };
}
