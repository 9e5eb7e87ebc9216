/**
 * Domain errors carry a stable code and, for bad input, the offending fields. They never carry an
 * HTTP status: `bff/src/http/problem.ts` is the one table that maps codes to statuses.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'FLOW_EXPIRED'
  | 'FLOW_CONFLICT'
  | 'FLOW_OUTDATED'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'ACCOUNT_EXISTS'
  | 'PARTNER_SETTINGS_CONFLICT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'KBA_FAILED'
  | 'IDENTITY_NOT_VERIFIABLE'
  | 'EMAIL_NOT_CONFIRMED'
  | 'IDENTITY_DIRECTORY_UNAVAILABLE'
  | 'IDENTITY_DIRECTORY_FAILED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_FAILED'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'DELIVERY_FAILED'
  | 'INTERNAL';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `pii.dob`. */
  field: string;
  /** Stable machine-readable reason, e.g. `required`, `invalid_format`. */
  reason: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldIssue[];
  /** Extra, safe-to-show details (never secrets or PII), e.g. `retryAfterSeconds`. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { fields?: FieldIssue[]; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.fields = options.fields ?? [];
    this.details = options.details ?? {};
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
