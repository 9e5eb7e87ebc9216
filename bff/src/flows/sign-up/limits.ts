import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';

/**
 * The limits of account creation (`POST /api/v1/signup`, decision 0019). Codes and proofs have their
 * own in the OtpService. Per client IP every request counts; per identifier only requests whose proof
 * is good, so nobody but the identifier's owner can use up its creations.
 */
export interface SignUpLimits {
  limiter: RateLimiter;
  perIp: Limit;
  perIdentifier: Limit;
}

export function signUpLimits(limiter: RateLimiter, s: { perIpPerHour: number; perIdentifierPerHour: number }): SignUpLimits {
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
  };
}
