import type { AccountService } from '../../accounts/account-service.ts';
import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import type { Feature } from '../../http/feature.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FederatedAccounts } from '../../ports/federated-accounts.ts';
import type { GoogleIdTokens } from '../../ports/google-id-tokens.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { googleNativeRouter } from './routes.ts';

export interface GoogleNativeWiring {
  config: { googleNativeIdentityProvider: string; googleNativeSignInsPerIpPerHour: number };
  googleIdTokens: GoogleIdTokens;
  federatedAccounts: FederatedAccounts;
  identityDirectory: Pick<IdentityDirectory, 'getUser' | 'findUsersByEmail' | 'organizationsOf'>;
  upstreamCore: Pick<UpstreamCore, 'findUser' | 'getUser' | 'getUserByExternalId'>;
  accounts: Pick<AccountService, 'create' | 'ensureProvisioned'>;
  ephemeralStore: Pick<EphemeralStore, 'setIfAbsent'>;
  limiter: RateLimiter;
}

/** Native-app Google sign-in (`POST /api/v1/google/token`, decision 0037). */
export function wireGoogleNative(w: GoogleNativeWiring): Feature {
  return {
    routers: [
      googleNativeRouter({
        idTokens: w.googleIdTokens,
        federated: w.federatedAccounts,
        directory: w.identityDirectory,
        upstream: w.upstreamCore,
        accounts: w.accounts,
        replays: w.ephemeralStore,
        limits: {
          limiter: w.limiter,
          perIp: {
            name: 'google-native-ip',
            per: 'ip',
            max: w.config.googleNativeSignInsPerIpPerHour,
            windowSeconds: 3600,
            message: 'Too many Google sign-ins from this network; try again later',
          },
        },
        identityProvider: w.config.googleNativeIdentityProvider,
        defaultTenant: CUSTODIAN_TENANT,
      }),
    ],
  };
}
