import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Secrets, passwords, OTPs, tokens and PII must never reach them: code logs ids and
 * outcomes only, and these paths are redacted as a safety net for anything that slips through.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'newPassword', '*.newPassword',
  'otp', '*.otp', 'code', '*.code',
  'token', '*.token', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken', 'authToken', '*.authToken', 'userToken', '*.userToken',
  'secret', '*.secret', 'clientSecret', '*.clientSecret', 'apiKey', '*.apiKey',
  'email', '*.email', 'phone', '*.phone', 'pii', '*.pii', 'ssn', '*.ssn', 'dob', '*.dob',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]',
];

export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: opts.name ?? 'bff',
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination,
  );
}
