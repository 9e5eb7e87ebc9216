import type { Language, Messages } from './messages.ts';
import { format } from './messages.ts';

/**
 * Calls to the BFF (same origin) and its errors: every error is `application/problem+json` with a
 * stable `code`, a `detail` and, for bad input, `fields` naming each bad field (bff/openapi.yaml).
 */
export interface FieldIssue {
  field: string;
  reason: string;
  message: string;
}

export class Problem extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldIssue[];
  readonly retryAfterSeconds: number | undefined;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : `HTTP ${status}`);
    this.status = status;
    this.code = typeof body.code === 'string' ? body.code : status === 0 ? 'NETWORK' : 'INTERNAL';
    this.fields = Array.isArray(body.fields) ? (body.fields as FieldIssue[]) : [];
    this.retryAfterSeconds = typeof body.retryAfterSeconds === 'number' ? body.retryAfterSeconds : undefined;
    this.body = body;
  }
}

/** The BFF refused the token or Keycloak refused the refresh: whatever was on screen is gone. */
export class SessionEnded extends Error {}

export interface Answer<T> {
  status: number;
  body: T;
}

/**
 * JSON in, JSON out; a 4xx/5xx becomes a Problem, no answer at all a Problem with code NETWORK. A
 * file (a Blob) goes as the body itself, with its own type (the profile picture's upload).
 */
export async function api<T>(method: string, path: string, opts: { token?: string; body?: unknown; lang?: Language } = {}): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json, application/problem+json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body === undefined ? {} : { 'content-type': opts.body instanceof Blob ? opts.body.type || 'application/octet-stream' : 'application/json' }),
        ...(opts.lang ? { 'accept-language': opts.lang } : {}),
      },
      body: opts.body === undefined ? undefined : opts.body instanceof Blob ? opts.body : JSON.stringify(opts.body),
    });
  } catch {
    throw new Problem(0, {});
  }
  const text = await res.text();
  let body: unknown = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  if (!res.ok) throw new Problem(res.status, body as Record<string, unknown>);
  return { status: res.status, body: body as T };
}

/** A wait as people say it: seconds under two minutes, else minutes (rounded up). */
export function duration(seconds: number, m: Messages): string {
  return seconds < 120 ? format(m.seconds, String(seconds)) : format(m.minutes, String(Math.ceil(seconds / 60)));
}

/** The sentence for a problem, ours by its code (the BFF's own words are for developers, in English). */
export function explain(problem: unknown, m: Messages): string {
  if (!(problem instanceof Problem)) return m.failed;
  if (problem.code === 'NETWORK') return m.network;
  if (problem.code === 'RATE_LIMITED' && problem.retryAfterSeconds) return format(m.retryIn, duration(problem.retryAfterSeconds, m));
  return m.codes[problem.code] ?? m.failed;
}

/** The sentence for one bad field: by the field and its reason, else by the reason alone. */
export function explainField(issue: FieldIssue, m: Messages): string {
  return m.reasons[`${issue.field}.${issue.reason}`] ?? m.reasons[issue.reason] ?? m.checkField;
}
