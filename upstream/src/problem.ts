import type { z } from 'zod';

export interface ProblemField {
  field: string;
  reason: string;
  message: string;
}

/** Stable problem codes of the contract (`upstream/openapi.yaml`, schema Problem) and their statuses. */
const STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  USER_NOT_ACTIVE_LOGIN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  EXTERNAL_ID_CONFLICT: 409,
  IDENTIFIER_TAKEN: 409,
  USER_DELETED: 409,
  USER_NOT_ACTIVE: 409,
  ORGANISATION_INACTIVE: 409,
  KBA_NOT_SET: 409,
  VERIFICATION_CLOSED: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
} as const;

export type ProblemCode = keyof typeof STATUS;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** An expected failure: becomes an `application/problem+json` response. Messages never hold PII. */
export class Problem extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: ProblemField[];

  constructor(code: ProblemCode, message: string, fields: ProblemField[] = []) {
    super(message);
    this.name = 'Problem';
    // USER_NOT_ACTIVE is 403 on the login check (the caller proved the password) and 409 elsewhere.
    this.code = code === 'USER_NOT_ACTIVE_LOGIN' ? 'USER_NOT_ACTIVE' : code;
    this.status = STATUS[code];
    this.fields = fields;
  }

  toBody(): Record<string, unknown> {
    return {
      type: 'about:blank',
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      code: this.code,
      detail: this.message,
      ...(this.fields.length > 0 ? { fields: this.fields } : {}),
    };
  }
}

export const notFound = (what: string): Problem => new Problem('NOT_FOUND', `${what} not found`);

/** Zod issues -> field list. Messages are zod's, which describe the rule, not the input value. */
export function validationProblem(error: z.ZodError): Problem {
  const fields: ProblemField[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        fields.push({ field: base ? `${base}.${key}` : key, reason: 'unknown', message: 'unknown field' });
      }
      continue;
    }
    fields.push({ field: base || '(body)', reason: reasonOf(issue), message: issue.message });
  }
  return new Problem('VALIDATION_FAILED', 'the request has invalid fields', fields);
}

function reasonOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : 'invalid_type';
    case 'too_small':
    case 'too_big':
      return 'out_of_range';
    case 'invalid_format':
      return 'invalid_format';
    case 'invalid_value':
    case 'invalid_union':
      return 'invalid_value';
    case 'custom':
      return (issue.params as { reason?: string } | undefined)?.reason ?? 'invalid';
    default:
      return 'invalid';
  }
}
