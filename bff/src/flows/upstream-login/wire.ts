import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import type { Feature } from '../../http/feature.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { upstreamLoginRouter } from './routes.ts';
import type { UpstreamLoginDeps } from './use-cases.ts';

export interface UpstreamLoginWiring {
  config: {
    keycloakCallbackSecret: string;
    defaultPhoneCountry: string;
    otpHashKey: string;
    upstreamLoginMaxFailures: number;
    upstreamLoginFailureWindowSeconds: number;
  };
  identityDirectory: UpstreamLoginDeps['directory'];
  upstreamCore: UpstreamLoginDeps['upstream'];
  userChangeFeed: UpstreamLoginDeps['deletedAccounts'];
  ephemeralStore: Pick<EphemeralStore, 'get' | 'increment'>;
  logger: Logger;
}

/** Keycloak's questions about upstream-only members (`POST /internal/v1/keycloak/upstream-login`, `.../upstream-reset`). */
export function wireUpstreamLogin({ config, identityDirectory, upstreamCore, userChangeFeed, ephemeralStore, logger }: UpstreamLoginWiring): Feature {
  return {
    routers: [
      upstreamLoginRouter({
        callbackSecret: config.keycloakCallbackSecret,
        directory: identityDirectory,
        upstream: upstreamCore,
        deletedAccounts: userChangeFeed,
        defaultPhoneCountry: config.defaultPhoneCountry,
        tenant: CUSTODIAN_TENANT,
        failures: {
          store: ephemeralStore,
          hashKey: config.otpHashKey,
          maxFailures: config.upstreamLoginMaxFailures,
          windowSeconds: config.upstreamLoginFailureWindowSeconds,
        },
        logger: logger.child({ component: 'upstream-login' }),
      }),
    ],
  };
}
