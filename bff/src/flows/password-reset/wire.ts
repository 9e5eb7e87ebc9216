import type { Feature } from '../../http/feature.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { SmsGateway } from '../../ports/messaging.ts';
import { passwordResetRouter } from './routes.ts';
import type { PasswordResetDeps } from './use-cases.ts';

export interface PasswordResetWiring {
  config: { keycloakCallbackSecret: string; defaultPhoneCountry: string };
  identityDirectory: PasswordResetDeps['directory'];
  otp: PasswordResetDeps['codes'];
  smsGateway: SmsGateway;
  logger: Logger;
}

/** Keycloak's "forgot password" by SMS code (`POST /internal/v1/keycloak/password-reset/code`, `.../verify`). */
export function wirePasswordReset({ config, identityDirectory, otp, smsGateway, logger }: PasswordResetWiring): Feature {
  return {
    routers: [
      passwordResetRouter({
        callbackSecret: config.keycloakCallbackSecret,
        directory: identityDirectory,
        codes: otp,
        sms: smsGateway,
        defaultPhoneCountry: config.defaultPhoneCountry,
        logger: logger.child({ component: 'password-reset' }),
      }),
    ],
  };
}
