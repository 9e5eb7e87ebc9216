import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Secrets, passwords, OTPs, tokens and PII must never reach them: code logs ids and
 * outcomes only, and the redaction below is a safety net for anything that slips through.
 *
 * The net works on key names at any depth (pino's path-based `redact` only reaches the depths it is
 * told, so `{ flow: { context: { password } } }` or `[{ email }]` went through). Keys are compared
 * lower-cased without separators, so `X-Api-Key`, `api_key` and `apiKey` are the same key.
 */
const SENSITIVE_KEYS = new Set([
  'otp',
  'code',
  'pin',
  'authorization',
  'cookie',
  'setcookie',
  'apikey',
  'xapikey',
  'pii',
  'ssn',
  'dob',
  'birthdate',
  'dateofbirth',
  'nationalid',
  'username',
  'firstname',
  'lastname',
  'givenname',
  'familyname',
  'fullname',
  'address',
]);
const SENSITIVE_SUFFIXES = ['password', 'secret', 'token', 'apikey'];
const SENSITIVE_PARTS = ['email', 'phone'];
const MAX_DEPTH = 8;
export const REDACTED = '[redacted]';

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SENSITIVE_KEYS.has(k) || SENSITIVE_SUFFIXES.some((s) => k.endsWith(s)) || SENSITIVE_PARTS.some((p) => k.includes(p));
}

/**
 * A copy of `value` with sensitive keys censored, in plain objects and arrays at any depth (the
 * input is never mutated; unchanged branches are shared). Other objects (Error, Date, Buffer) pass
 * as they are: pino's serializers handle them.
 */
export function redact<T>(value: T, depth = 0): T {
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return REDACTED as T;
    let changed = false;
    const out = value.map((v) => {
      const r = redact(v, depth + 1);
      changed ||= r !== v;
      return r;
    });
    return (changed ? out : value) as T;
  }
  if (!isPlainObject(value)) return value;
  if (depth >= MAX_DEPTH) return REDACTED as T;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = isSensitiveKey(k) ? REDACTED : redact(v, depth + 1);
    changed ||= r !== v;
    out[k] = r;
  }
  return (changed ? out : value) as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Error fields safe to log: name, message, code, stack; never its other properties (a database
 * error's `detail` or an HTTP client's request can hold PII or secrets). The code is logged as
 * `errorCode`: a key named `code` is redacted (it is how OTPs and authorization codes travel).
 */
export function safeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { type: err.name, message: err.message, errorCode: (err as { code?: unknown }).code, stack: err.stack };
  return { type: typeof err };
}

const serializeError = (err: unknown) => (err instanceof Error ? safeError(err) : err);

export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  const logger = pino(
    {
      name: opts.name ?? 'bff',
      level: opts.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redact(object),
      },
      // pino's own `err` serializer copies every property of an error, and renames the type of an
      // already safe object to `Object`: errors pass through safeError, safe objects unchanged.
      serializers: { err: serializeError, error: serializeError },
    },
    opts.destination,
  );
  // Child bindings skip `formatters.log` (and pino resets `formatters.bindings` for children), so
  // they are redacted here; children are created from their parent's prototype and inherit this.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redact(bindings), options);
  } as Logger['child'];
  return logger;
}
