import { passwordFailuresPerIp, type Limit, type RateLimiter } from '../../rate-limits/rate-limiter.ts';

/**
 * The limits of the user-management routes (decision 0019), counted by the shared RateLimiter in
 * Redis. Resends (`POST /auth/send`) keep their own throttle in ConfirmationLinks.admitResend.
 */
export interface UserManagementLimits {
  limiter: RateLimiter;
  /** Every registration, per client IP and per e-mail address (each one mails the address). */
  register: Limit[];
  /** Refused passwords: per client IP (shared with the state claim's password step), and per e-mail from one client IP. */
  login: Limit[];
  /** Confirmation links that are not valid, per client IP. */
  confirm: Limit[];
  /** Refresh tokens Keycloak refuses (refresh, logout), per client IP. */
  refresh: Limit[];
}

export interface UserManagementLimitSettings {
  registerPerIpPerHour: number;
  registerPerEmailPerHour: number;
  loginFailuresPerIpPerHour: number;
  loginFailuresPerEmailAndIpPerHour: number;
  confirmFailuresPerIpPerHour: number;
  refreshFailuresPerIpPerHour: number;
}

const HOUR = 3600;

export function userManagementLimits(limiter: RateLimiter, s: UserManagementLimitSettings): UserManagementLimits {
  return {
    limiter,
    register: [
      {
        name: 'register-ip',
        per: 'ip',
        max: s.registerPerIpPerHour,
        windowSeconds: HOUR,
        message: 'Too many registrations from this network; try again later',
      },
      {
        name: 'register-email',
        per: 'identifier',
        max: s.registerPerEmailPerHour,
        windowSeconds: HOUR,
        message: 'Too many registrations with this email address; try again later',
      },
    ],
    login: [
      passwordFailuresPerIp(s.loginFailuresPerIpPerHour),
      {
        name: 'login-failures-email-ip',
        per: 'identifier-and-ip',
        max: s.loginFailuresPerEmailAndIpPerHour,
        windowSeconds: HOUR,
        message: 'Too many failed sign-ins with this email address from this network; try again later',
      },
    ],
    confirm: [
      {
        name: 'confirm-failures-ip',
        per: 'ip',
        max: s.confirmFailuresPerIpPerHour,
        windowSeconds: HOUR,
        message: 'Too many links that are not valid from this network; try again later',
      },
    ],
    refresh: [
      {
        name: 'refresh-failures-ip',
        per: 'ip',
        max: s.refreshFailuresPerIpPerHour,
        windowSeconds: HOUR,
        message: 'Too many refused refresh tokens from this network; try again later',
      },
    ],
  };
}
