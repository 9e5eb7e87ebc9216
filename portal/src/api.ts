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

export interface Answer<T> {
  status: number;
  body: T;
}

/** JSON in, JSON out; a 4xx/5xx becomes a Problem, no answer at all a Problem with code NETWORK. */
export async function api<T>(method: string, path: string, opts: { token?: string; body?: unknown; lang?: Language } = {}): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json, application/problem+json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(opts.lang ? { 'accept-language': opts.lang } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
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

/** The sentence to show for a problem: the BFF's own in English, ours in Hindi when we have one. */
export function explain(problem: unknown, m: Messages, lang: Language): string {
  if (!(problem instanceof Problem)) return m.failed;
  if (problem.code === 'NETWORK') return m.network;
  if (problem.code === 'RATE_LIMITED' && problem.retryAfterSeconds) return format(m.retryIn, String(problem.retryAfterSeconds));
  // 5xx details are generic titles anyway; ours say that nothing changed and what to do.
  if (lang === 'en' && problem.status < 500 && problem.message) return problem.message;
  return m.codes[problem.code] ?? (lang === 'en' ? problem.message : m.failed);
}

/** The sentence for one bad field: the BFF's own in English, ours by reason in Hindi. */
export function explainField(issue: FieldIssue, m: Messages, lang: Language): string {
  if (lang === 'en' && issue.message) return issue.message;
  return m.reasons[issue.reason] ?? issue.message;
}
