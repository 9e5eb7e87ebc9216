import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';

/**
 * The limits of sign-up (decision 0019). Codes and proofs have their own in the OtpService. Account
 * creation (`POST /api/v1/signup`): per client IP every request counts; per identifier only requests
 * whose proof is good, so nobody but the identifier's owner can use up its creations. The details
 * check (`POST /api/v1/signup/check`): per client IP, as it tells whether a username is free.
 */
export interface SignUpLimits {
  limiter: RateLimiter;
  perIp: Limit;
  perIdentifier: Limit;
  checksPerIp: Limit;
}

export function signUpLimits(limiter: RateLimiter, s: { perIpPerHour: number; perIdentifierPerHour: number; checksPerIpPerHour: number }): SignUpLimits {
  return {
    limiter,
    perIp: { name: 'signup-ip', per: 'ip', max: s.perIpPerHour, windowSeconds: 3600, message: 'Too many sign-ups from this network; try again later' },
    perIdentifier: {
      name: 'signup-identifier',
      per: 'identifier',
      max: s.perIdentifierPerHour,
      windowSeconds: 3600,
      message: 'Too many sign-ups with this email address or phone number; try again later',
    },
    checksPerIp: {
      name: 'signup-check-ip',
      per: 'ip',
      max: s.checksPerIpPerHour,
      windowSeconds: 3600,
      message: 'Too many sign-up checks from this network; try again later',
    },
  };
}
