import { z } from 'zod';
import { DomainError, type FieldIssue } from '../../kernel/errors.ts';
import type {
  ChangeOptions,
  IdentityToVerify,
  IdentityVerification,
  KbaAnswer,
  KbaQuestion,
  Membership,
  MembershipChangePage,
  NewUpstreamUser,
  Organisation,
  OrganisationWithRoot,
  PasswordCheck,
  ProfileChanges,
  UpstreamCore,
  UpstreamUser,
  UserLookup,
} from '../../ports/upstream-core.ts';

/**
 * UpstreamCore over the REST contract in `upstream/openapi.yaml`.
 *
 * Every request has a timeout. Requests that are safe to repeat (reads, PUT/PATCH/DELETE, and the
 * create, which the core deduplicates on externalId) are retried on network errors, timeouts and
 * 502/503/504 with exponential backoff and jitter. Password and KBA verifications are sent once: a
 * core may count failed attempts, and a replay could lock a member out.
 *
 * Error messages and details carry the operation name and status only: never URLs (which hold ids),
 * bodies, passwords, answers or PII.
 */

export interface UpstreamRetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Backoff before the n-th retry is about baseDelayMs * 2^(n-1), jittered. Default 100. */
  baseDelayMs?: number;
  /** Upper bound of one backoff, also for a Retry-After the core sends. Default 2000. */
  maxDelayMs?: number;
}

export interface UpstreamLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface HttpUpstreamCoreOptions {
  /** e.g. `http://127.0.0.1:4010` */
  baseUrl: string;
  apiKey: string;
  /** Per attempt, headers and body included. Default 5000. */
  timeoutMs?: number;
  /** For `ping()`, which is never retried. Default 2000. */
  pingTimeoutMs?: number;
  retry?: UpstreamRetryOptions;
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Injectable for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1); defaults to Math.random (jitter needs no cryptographic randomness). */
  random?: () => number;
  /** Clock in epoch milliseconds, for Retry-After dates; defaults to Date.now. */
  now?: () => number;
  logger?: UpstreamLogger;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Operation {
  /** Stable name for errors and logs, e.g. `createUser`. */
  name: string;
  method: Method;
  path: string;
  body?: unknown;
  /** May the request be sent again when its outcome is unknown? */
  retryable: boolean;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

interface UpstreamResponse {
  status: number;
  body: unknown;
  attempts: number;
}

const TRANSIENT_STATUSES = new Set([502, 503, 504]);

export class HttpUpstreamCore implements UpstreamCore {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #logger: UpstreamLogger | undefined;

  constructor(options: HttpUpstreamCoreOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.#maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 3);
    this.#baseDelayMs = options.retry?.baseDelayMs ?? 100;
    this.#maxDelayMs = options.retry?.maxDelayMs ?? 2_000;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  // ------------------------------------------------------------------------------------------ health

  async ping(): Promise<void> {
    const res = await this.#send({ name: 'ping', method: 'GET', path: '/health', retryable: false, timeoutMs: this.#pingTimeoutMs });
    if (res.status === 200) return;
    throw this.#failure('ping', res);
  }

  // ----------------------------------------------------------------------------------- organisations

  async findRootOrgByChannel(channel: string): Promise<Organisation | null> {
    const op = 'findRootOrgByChannel';
    const res = await this.#send({ name: op, method: 'GET', path: `/v1/channels/${enc(channel)}`, retryable: true });
    if (res.status === 404) return null;
    if (res.status === 200) return parse(op, organisationSchema, res);
    throw this.#failure(op, res);
  }

  async getOrganisation(orgId: string): Promise<OrganisationWithRoot | null> {
    const op = 'getOrganisation';
    const res = await this.#send({ name: op, method: 'GET', path: `/v1/organisations/${enc(orgId)}`, retryable: true });
    if (res.status === 404) return null;
    if (res.status === 200) {
      const { rootOrg, ...organisation } = parse(op, organisationSchema.extend({ rootOrg: organisationSchema }), res);
      return { organisation, rootOrg };
    }
    throw this.#failure(op, res);
  }

  // ------------------------------------------------------------------------------------------- users

  async createUser(input: NewUpstreamUser): Promise<{ user: UpstreamUser; created: boolean }> {
    const op = 'createUser';
    // Retryable because the core deduplicates on externalId: a replay of a create that did land
    // returns the same user with 200.
    const res = await this.#send({ name: op, method: 'POST', path: '/v1/users', body: input, retryable: true });
    if (res.status === 201 || res.status === 200) return { user: parse(op, userSchema, res), created: res.status === 201 };
    throw this.#failure(op, res);
  }

  getUser(userId: string): Promise<UpstreamUser | null> {
    return this.#getUser('getUser', `/v1/users/${enc(userId)}`);
  }

  getUserByExternalId(externalId: string): Promise<UpstreamUser | null> {
    return this.#getUser('getUserByExternalId', `/v1/users/by-external-id/${enc(externalId)}`);
  }

  async #getUser(op: string, path: string): Promise<UpstreamUser | null> {
    const res = await this.#send({ name: op, method: 'GET', path, retryable: true });
    if (res.status === 404) return null;
    if (res.status === 200) return parse(op, userSchema, res);
    throw this.#failure(op, res);
  }

  async findUser(lookup: UserLookup): Promise<UpstreamUser | null> {
    const op = 'findUser';
    // A POST only to keep identifiers out of URLs; it reads, so it is safe to repeat.
    const res = await this.#send({ name: op, method: 'POST', path: '/v1/users/search', body: lookup, retryable: true });
    if (res.status === 200) return parse(op, z.object({ items: z.array(userSchema) }), res).items[0] ?? null;
    throw this.#failure(op, res);
  }

  async updateProfile(userId: string, changes: ProfileChanges, opts: ChangeOptions = {}): Promise<UpstreamUser> {
    return this.#userChange('updateProfile', 'PATCH', `/v1/users/${enc(userId)}`, changes, opts);
  }

  async linkExternalId(userId: string, externalId: string, opts: { replaces?: string } = {}): Promise<UpstreamUser> {
    return this.#userChange('linkExternalId', 'PUT', `/v1/users/${enc(userId)}/external-id`, {
      externalId,
      ...(opts.replaces ? { replaces: opts.replaces } : {}),
    });
  }

  deactivateUser(userId: string, opts: ChangeOptions = {}): Promise<UpstreamUser> {
    return this.#userChange('deactivateUser', 'PUT', `/v1/users/${enc(userId)}/status`, { status: 'inactive' }, opts);
  }

  activateUser(userId: string, opts: ChangeOptions = {}): Promise<UpstreamUser> {
    return this.#userChange('activateUser', 'PUT', `/v1/users/${enc(userId)}/status`, { status: 'active' }, opts);
  }

  async #userChange(op: string, method: 'PUT' | 'PATCH', path: string, body: unknown, opts: ChangeOptions = {}): Promise<UpstreamUser> {
    const headers = opts.idempotencyKey === undefined ? undefined : { 'idempotency-key': opts.idempotencyKey };
    const res = await this.#send({ name: op, method, path, body, retryable: true, ...(headers ? { headers } : {}) });
    if (res.status === 200) return parse(op, userSchema, res);
    throw this.#failure(op, res);
  }

  async deleteUser(userId: string): Promise<void> {
    const op = 'deleteUser';
    const res = await this.#send({ name: op, method: 'DELETE', path: `/v1/users/${enc(userId)}`, retryable: true });
    if (res.status !== 204) throw this.#failure(op, res);
  }

  // ------------------------------------------------------------------------------------- memberships

  async listMemberships(userId: string): Promise<Membership[]> {
    const op = 'listMemberships';
    const res = await this.#send({ name: op, method: 'GET', path: `/v1/users/${enc(userId)}/memberships`, retryable: true });
    if (res.status === 200) return parse(op, z.object({ items: z.array(membershipSchema) }), res).items;
    throw this.#failure(op, res);
  }

  async addMembership(userId: string, orgId: string, roles: readonly string[]): Promise<{ membership: Membership; created: boolean }> {
    const op = 'addMembership';
    const res = await this.#send({
      name: op,
      method: 'PUT',
      path: `/v1/users/${enc(userId)}/memberships/${enc(orgId)}`,
      body: { roles },
      retryable: true,
    });
    if (res.status === 201 || res.status === 200) return { membership: parse(op, membershipSchema, res), created: res.status === 201 };
    throw this.#failure(op, res);
  }

  async removeMembership(userId: string, orgId: string): Promise<void> {
    const op = 'removeMembership';
    const res = await this.#send({
      name: op,
      method: 'DELETE',
      path: `/v1/users/${enc(userId)}/memberships/${enc(orgId)}`,
      retryable: true,
    });
    if (res.status !== 204) throw this.#failure(op, res);
  }

  async membershipChanges(after: number, limit: number): Promise<MembershipChangePage> {
    const op = 'membershipChanges';
    const query = new URLSearchParams({ after: String(after), limit: String(limit) });
    const res = await this.#send({ name: op, method: 'GET', path: `/v1/membership-changes?${query}`, retryable: true });
    if (res.status === 200) return parse(op, membershipChangePageSchema, res);
    throw this.#failure(op, res);
  }

  // ------------------------------------------------------------------------------------- credentials

  async verifyPassword(login: string, password: string): Promise<PasswordCheck> {
    const op = 'verifyPassword';
    const res = await this.#send({ name: op, method: 'POST', path: '/v1/credentials/verify-password', body: { login, password }, retryable: false });
    if (res.status === 200) return { outcome: 'valid', user: parse(op, z.object({ user: userSchema }), res).user };
    const code = problemOf(res).code;
    if (res.status === 401 && code === 'INVALID_CREDENTIALS') return { outcome: 'invalid' };
    if (res.status === 403 && code === 'USER_NOT_ACTIVE') return { outcome: 'not_active' };
    // A login or password the core cannot even accept (too long, empty) cannot be right.
    if (res.status === 400) return { outcome: 'invalid' };
    throw this.#failure(op, res);
  }

  async getKbaQuestions(userId: string): Promise<KbaQuestion[] | null> {
    const op = 'getKbaQuestions';
    const res = await this.#send({ name: op, method: 'GET', path: `/v1/users/${enc(userId)}/kba/questions`, retryable: true });
    if (res.status === 404) return null;
    if (res.status === 200) return parse(op, z.object({ questions: z.array(kbaQuestionSchema) }), res).questions;
    throw this.#failure(op, res);
  }

  async verifyKbaAnswers(userId: string, answers: readonly KbaAnswer[]): Promise<'ok' | 'failed'> {
    const op = 'verifyKbaAnswers';
    const res = await this.#send({
      name: op,
      method: 'POST',
      path: `/v1/users/${enc(userId)}/kba/verify`,
      body: { answers: answers.map((a) => ({ questionId: a.questionId, answer: a.answer })) },
      retryable: false,
    });
    if (res.status === 200) return parse(op, z.object({ result: z.enum(['ok', 'failed']) }), res).result;
    throw this.#failure(op, res);
  }

  async startIdentityVerification(person: IdentityToVerify): Promise<IdentityVerification | null> {
    const op = 'startIdentityVerification';
    const res = await this.#send({ name: op, method: 'POST', path: '/v1/identity-verifications', body: person, retryable: false });
    if (res.status === 404) return null;
    if (res.status === 201) {
      const v = parse(op, z.object({ id: z.string(), questions: z.array(kbaQuestionSchema), expiresAt: timestamp }), res);
      return { id: v.id, questions: v.questions, expiresAt: v.expiresAt };
    }
    throw this.#failure(op, res);
  }

  async answerIdentityVerification(verificationId: string, answers: readonly KbaAnswer[]): Promise<'passed' | 'failed'> {
    const op = 'answerIdentityVerification';
    const res = await this.#send({
      name: op,
      method: 'POST',
      path: `/v1/identity-verifications/${enc(verificationId)}/answers`,
      body: { answers: answers.map((a) => ({ questionId: a.questionId, answer: a.answer })) },
      retryable: false,
    });
    if (res.status === 200) return parse(op, z.object({ result: z.enum(['passed', 'failed']) }), res).result;
    // A closed verification cannot pass any more.
    if (res.status === 409 && problemOf(res).code === 'VERIFICATION_CLOSED') return 'failed';
    throw this.#failure(op, res);
  }

  // --------------------------------------------------------------------------------------- transport

  /**
   * Sends the request, retrying transient failures when the operation allows it. Returns any
   * non-transient response; throws UPSTREAM_UNAVAILABLE when no answer came.
   */
  async #send(op: Operation): Promise<UpstreamResponse> {
    const maxAttempts = op.retryable ? this.#maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await this.#attempt(op);
        if (!TRANSIENT_STATUSES.has(res.status)) return { ...res, attempts: attempt };
        reason = `status ${res.status}`;
        retryAfterMs = res.retryAfterMs;
      } catch (error) {
        reason = transportFailure(error);
      }
      if (attempt >= maxAttempts) throw unavailable(op.name, attempt, reason);
      const delayMs = this.#backoff(attempt, retryAfterMs);
      this.#logger?.warn({ operation: op.name, attempt, reason, delayMs }, 'upstream core request failed, retrying');
      await this.#sleep(delayMs);
    }
  }

  async #attempt(op: Operation): Promise<{ status: number; body: unknown; retryAfterMs: number | undefined }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' };
    if (op.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, op.headers);
    // The signal also bounds reading the body, not only waiting for headers.
    const response = await this.#fetch(`${this.#baseUrl}${op.path}`, {
      method: op.method,
      headers,
      body: op.body === undefined ? null : JSON.stringify(op.body),
      signal: AbortSignal.timeout(op.timeoutMs ?? this.#timeoutMs),
    });
    const text = await response.text();
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = MALFORMED;
      }
    }
    return { status: response.status, body, retryAfterMs: retryAfter(response.headers.get('retry-after'), this.#now()) };
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, never above maxDelayMs. */
  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    const jittered = exponential / 2 + this.#random() * (exponential / 2);
    return Math.round(Math.min(this.#maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
  }

  /** A response the operation did not expect -> the DomainError the port documents. */
  #failure(op: string, res: UpstreamResponse): DomainError {
    const problem = problemOf(res);
    const details = { operation: op, status: res.status, ...(problem.code ? { upstreamCode: problem.code } : {}) };
    switch (res.status) {
      case 400:
        return new DomainError('VALIDATION_FAILED', `upstream core rejected the input of ${op}`, { fields: problem.fields, details });
      case 404:
        return new DomainError('NOT_FOUND', `upstream core: not found (${op})`, { details });
      case 409:
        return new DomainError('CONFLICT', `upstream core refused ${op}: ${problem.code ?? 'conflict'}`, { fields: problem.fields, details });
      case 401:
      case 403:
        // Our API key, not the end user: a configuration fault.
        return new DomainError('UPSTREAM_FAILED', `upstream core refused our credentials (${op})`, { details });
      default:
        return new DomainError('UPSTREAM_FAILED', `upstream core answered ${op} with unexpected status ${res.status}`, { details });
    }
  }
}

// ------------------------------------------------------------------------------------------- helpers

const MALFORMED = Symbol('malformed JSON');

const enc = encodeURIComponent;

function unavailable(op: string, attempts: number, reason: string): DomainError {
  return new DomainError('UPSTREAM_UNAVAILABLE', `upstream core unavailable (${op}: ${reason})`, {
    details: { operation: op, attempts, reason },
  });
}

/** Timeout or network failure, named without anything from the request. */
function transportFailure(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timeout';
  if (error instanceof DOMException && error.name === 'AbortError') return 'aborted';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return `network error ${cause.code}`;
  return 'network error';
}

/** Retry-After as delay-seconds or an HTTP date. */
function retryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parse<T extends z.ZodType>(op: string, schema: T, res: UpstreamResponse): z.output<T> {
  const result = schema.safeParse(res.body);
  if (!result.success) {
    // Only paths of the mismatch, never values: the body holds PII.
    throw new DomainError('UPSTREAM_FAILED', `upstream core sent an unexpected ${op} response`, {
      details: { operation: op, status: res.status, mismatches: result.error.issues.slice(0, 5).map((i) => i.path.join('.')) },
    });
  }
  return result.data;
}

const fieldIssueSchema = z.object({ field: z.string(), reason: z.string(), message: z.string() });
const problemSchema = z.object({ code: z.string().optional(), fields: z.array(fieldIssueSchema).optional() });

function problemOf(res: UpstreamResponse): { code: string | undefined; fields: FieldIssue[] } {
  const result = problemSchema.safeParse(res.body);
  return result.success ? { code: result.data.code, fields: result.data.fields ?? [] } : { code: undefined, fields: [] };
}

const timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const userSchema = z.object({
  id: z.string(),
  externalId: z.string().nullable(),
  username: z.string().nullable(),
  firstName: z.string(),
  lastName: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  status: z.enum(['active', 'inactive', 'deleted']),
  hasPassword: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const organisationSchema = z.object({
  id: z.string(),
  name: z.string(),
  isRootOrg: z.boolean(),
  rootOrgId: z.string(),
  channel: z.string(),
  status: z.enum(['active', 'inactive']),
});

const membershipSchema = z.object({
  userId: z.string(),
  organisationId: z.string(),
  rootOrgId: z.string(),
  roles: z.array(z.string()),
});

const membershipChangePageSchema = z.object({
  changes: z.array(z.object({ seq: z.number().int().positive(), userId: z.string(), externalId: z.string().nullable() })),
  next: z.number().int().nonnegative(),
});

const kbaQuestionSchema = z.object({ id: z.string(), text: z.string() });
