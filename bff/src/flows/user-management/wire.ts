import { RealmUserTypes } from '../../accounts/user-types.ts';
import type { Feature } from '../../http/feature.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { ConfirmationLinks } from './confirmation-links.ts';
import { userManagementLimits } from './limits.ts';
import { confirmationAssets } from './pages.ts';
import { userManagementRouter } from './routes.ts';
import type { UserManagementDeps } from './use-cases.ts';

export interface UserManagementWiring {
  config: {
    publicUrl: string;
    clientId: string;
    userApiTokenClients: readonly string[];
    defaultPhoneCountry: string;
    otpHashKey: string;
    emailConfirmationTtlSeconds: number;
    emailConfirmationCooldownSeconds: number;
    emailConfirmationMailsPerHour: number;
    emailConfirmationRequestsPerIpPerHour: number;
    registerRequestsPerIpPerHour: number;
    registerRequestsPerEmailPerHour: number;
    loginFailuresPerIpPerHour: number;
    loginFailuresPerEmailAndIpPerHour: number;
    confirmFailuresPerIpPerHour: number;
    refreshFailuresPerIpPerHour: number;
  };
  accounts: UserManagementDeps['accounts'];
  notices: UserManagementDeps['notices'];
  identityDirectory: UserManagementDeps['directory'];
  /** The `user-api` client's password grant. */
  userApiTokens: UserManagementDeps['tokens'];
  accessTokens: UserManagementDeps['accessTokens'];
  otp: UserManagementDeps['proofs'];
  ephemeralStore: UserManagementDeps['store'];
  fieldEncryption: FieldEncryption;
  mailer: UserManagementDeps['mailer'];
  background: UserManagementDeps['background'];
  limiter: RateLimiter;
  logger: Logger;
}

/** The user-management API under /api/v1 (seed 001). */
export function wireUserManagement(w: UserManagementWiring): Feature {
  const { config } = w;
  const links = new ConfirmationLinks({
    store: w.ephemeralStore,
    mailer: w.mailer,
    encryption: w.fieldEncryption,
    hashKey: config.otpHashKey,
    settings: {
      publicUrl: config.publicUrl,
      ttlSeconds: config.emailConfirmationTtlSeconds,
      cooldownSeconds: config.emailConfirmationCooldownSeconds,
      mailsPerHour: config.emailConfirmationMailsPerHour,
      requestsPerIpPerHour: config.emailConfirmationRequestsPerIpPerHour,
    },
  });
  const userTypes = new RealmUserTypes({ directory: w.identityDirectory });
  return {
    routers: [
      userManagementRouter({
        accounts: w.accounts,
        notices: w.notices,
        directory: w.identityDirectory,
        tokens: w.userApiTokens,
        accessTokens: w.accessTokens,
        proofs: w.otp,
        store: w.ephemeralStore,
        hashKey: config.otpHashKey,
        links,
        mailer: w.mailer,
        background: w.background,
        limits: userManagementLimits(w.limiter, {
          registerPerIpPerHour: config.registerRequestsPerIpPerHour,
          registerPerEmailPerHour: config.registerRequestsPerEmailPerHour,
          loginFailuresPerIpPerHour: config.loginFailuresPerIpPerHour,
          loginFailuresPerEmailAndIpPerHour: config.loginFailuresPerEmailAndIpPerHour,
          confirmFailuresPerIpPerHour: config.confirmFailuresPerIpPerHour,
          refreshFailuresPerIpPerHour: config.refreshFailuresPerIpPerHour,
        }),
        signInUrl: new URL('/portal/', config.publicUrl).href,
        logger: w.logger.child({ component: 'user-management' }),
        bearer: { audience: config.clientId, clients: config.userApiTokenClients },
        defaultPhoneCountry: config.defaultPhoneCountry,
        userTypes: () => userTypes.current(),
      }),
    ],
    assets: confirmationAssets,
  };
}
