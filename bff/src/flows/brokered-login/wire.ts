import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import type { Feature } from '../../http/feature.ts';
import { brokeredLoginRouter } from './routes.ts';
import type { BrokeredLoginDeps } from './use-cases.ts';

export interface BrokeredLoginWiring {
  config: { keycloakCallbackSecret: string };
  identityDirectory: BrokeredLoginDeps['directory'];
  upstreamCore: BrokeredLoginDeps['upstream'];
  accounts: BrokeredLoginDeps['accounts'];
}

/** Keycloak's question about a Google sign-in (`POST /internal/v1/keycloak/brokered-login`). */
export function wireBrokeredLogin({ config, identityDirectory, upstreamCore, accounts }: BrokeredLoginWiring): Feature {
  return {
    routers: [
      brokeredLoginRouter({
        callbackSecret: config.keycloakCallbackSecret,
        directory: identityDirectory,
        upstream: upstreamCore,
        accounts,
        defaultTenant: CUSTODIAN_TENANT,
      }),
    ],
  };
}
