import type { AccountService } from '../../accounts/account-service.ts';
import type { Feature } from '../../http/feature.ts';
import type { VerificationProofs } from '../../otp/verification-proofs.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { signUpLimits } from './limits.ts';
import { signUpAssets, signUpPagesRouter } from './pages.ts';
import { signUpApiRouter } from './routes.ts';

/** What self sign-up needs of the shared infrastructure (the composition root passes it). */
export interface SignUpWiring {
  config: {
    keycloakUrl: string;
    realm: string;
    defaultPhoneCountry: string;
    signUpRequestsPerIpPerHour: number;
    signUpRequestsPerIdentifierPerHour: number;
  };
  otp: VerificationProofs;
  accounts: Pick<AccountService, 'create'>;
  limiter: RateLimiter;
}

/** The sign-up page and `POST /api/v1/signup` (the code routes it calls first are otp/wire.ts). */
export function wireSignUp({ config, otp, accounts, limiter }: SignUpWiring): Feature {
  return {
    routers: [
      signUpPagesRouter({ keycloakUrl: config.keycloakUrl, realm: config.realm }),
      signUpApiRouter({
        proofs: otp,
        accounts,
        limits: signUpLimits(limiter, { perIpPerHour: config.signUpRequestsPerIpPerHour, perIdentifierPerHour: config.signUpRequestsPerIdentifierPerHour }),
        defaultPhoneCountry: config.defaultPhoneCountry,
      }),
    ],
    assets: signUpAssets,
  };
}
