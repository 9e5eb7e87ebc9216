import type { AccountService } from '../../accounts/account-service.ts';
import { RealmPasswordPolicy } from '../../accounts/password-policy.ts';
import { RealmUserTypes } from '../../accounts/user-types.ts';
import type { Feature } from '../../http/feature.ts';
import type { VerificationProofs } from '../../otp/verification-proofs.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { signUpLimits } from './limits.ts';
import { signUpAssets, signUpPagesRouter } from './pages.ts';
import { signInTicketRouter, signUpApiRouter } from './routes.ts';
import { SignInTickets } from './sign-in-tickets.ts';

/** What self sign-up needs of the shared infrastructure (the composition root passes it). */
export interface SignUpWiring {
  config: {
    keycloakUrl: string;
    realm: string;
    defaultPhoneCountry: string;
    signUpRequestsPerIpPerHour: number;
    signUpRequestsPerIdentifierPerHour: number;
    signUpChecksPerIpPerHour: number;
    signUpTicketTtlSeconds: number;
    keycloakCallbackSecret: string;
  };
  otp: VerificationProofs;
  accounts: Pick<AccountService, 'create'>;
  identityDirectory: Pick<IdentityDirectory, 'findUserByUsername' | 'passwordPolicy' | 'attributeOptions' | 'localizationTexts'>;
  upstreamCore: Pick<UpstreamCore, 'findUser' | 'findRootOrgByChannel' | 'getOrganisation'>;
  limiter: RateLimiter;
  ephemeralStore: EphemeralStore;
}

/**
 * The sign-up page, `POST /api/v1/signup/check`, `POST /api/v1/signup` and Keycloak's redeem of the
 * sign-in ticket a finished sign-up hands over (the code routes the page calls are otp/wire.ts).
 */
export function wireSignUp({ config, otp, accounts, identityDirectory, upstreamCore, limiter, ephemeralStore }: SignUpWiring): Feature {
  const keycloak = { keycloakUrl: config.keycloakUrl, realm: config.realm };
  const tickets = new SignInTickets({ store: ephemeralStore, ttlSeconds: config.signUpTicketTtlSeconds });
  const policy = new RealmPasswordPolicy({ read: () => identityDirectory.passwordPolicy() });
  const passwordPolicy = () => policy.current();
  const realmUserTypes = new RealmUserTypes({ directory: identityDirectory });
  const userTypes = () => realmUserTypes.current();
  return {
    routers: [
      signUpPagesRouter({ ...keycloak, passwordPolicy, userTypes }),
      signUpApiRouter({
        proofs: otp,
        accounts,
        limits: signUpLimits(limiter, {
          perIpPerHour: config.signUpRequestsPerIpPerHour,
          perIdentifierPerHour: config.signUpRequestsPerIdentifierPerHour,
          checksPerIpPerHour: config.signUpChecksPerIpPerHour,
        }),
        tickets,
        keycloak,
        passwordPolicy,
        userTypes,
        checks: { directory: identityDirectory, upstream: upstreamCore },
        defaultPhoneCountry: config.defaultPhoneCountry,
      }),
      signInTicketRouter({ tickets, callbackSecret: config.keycloakCallbackSecret }),
    ],
    assets: signUpAssets,
  };
}
