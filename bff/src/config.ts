import { z } from 'zod';
import { isPhoneCountry } from './accounts/identifiers.ts';
import { parseKeyRing } from './kernel/crypto/field-encryption.ts';
import { AddressSet, splitList } from './kernel/ip-ranges.ts';

/**
 * The BFF's whole configuration: one schema, read once at start from the environment. Each entry
 * names its variable, says what it is for, and gives the development default (if any). A bad or
 * missing value stops the process with a message naming the variable.
 */
const port = z.coerce.number().int().min(0).max(65535);
const url = z.url();
const ms = z.coerce.number().int().positive();

const entries = {
  nodeEnv: { env: 'NODE_ENV', schema: z.enum(['development', 'test', 'production']).default('development'), doc: 'development | test | production' },
  logLevel: { env: 'LOG_LEVEL', schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), doc: 'pino log level' },
  host: { env: 'BFF_HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'interface the BFF listens on' },
  port: { env: 'BFF_PORT', schema: port.default(3000), doc: 'HTTP port of the BFF' },
  trustedProxies: {
    env: 'TRUSTED_PROXIES',
    schema: z
      .string()
      .default('')
      .transform(splitList)
      .superRefine((entries, ctx) => {
        try {
          new AddressSet(entries);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    doc: 'reverse proxies in front of the BFF whose X-Forwarded-For is believed: IPs and CIDR ranges, comma-separated (empty: X-Forwarded-For is ignored, the TCP peer is the client)',
  },
  publicUrl: { env: 'BFF_PUBLIC_URL', schema: url.default('http://localhost:3000'), doc: 'URL browsers and partners use to reach the BFF' },
  databaseUrl: {
    env: 'BFF_DATABASE_URL',
    schema: url.default('postgres://postgres@127.0.0.1:5432/platform_bff'),
    doc: 'PostgreSQL database of the BFF (flows, mappings, handoffs)',
  },
  redisUrl: { env: 'REDIS_URL', schema: url.default('redis://127.0.0.1:6379'), doc: 'Redis for short-lived data (OTPs, counters, tokens)' },
  redisPrefix: { env: 'REDIS_PREFIX', schema: z.string().min(1).default('platform:dev:'), doc: 'prefix of every Redis key the BFF writes' },
  keycloakUrl: {
    env: 'KEYCLOAK_URL',
    schema: url.default('http://localhost:8080'),
    doc: "Keycloak's base URL (also the token issuer's base: keep it the public one)",
  },
  realm: { env: 'PLATFORM_REALM', schema: z.string().min(1).default('platform'), doc: 'realm of the platform' },
  clientId: { env: 'BFF_CLIENT_ID', schema: z.string().min(1).default('bff'), doc: "the BFF's confidential client in the platform realm" },
  clientSecret: { env: 'BFF_CLIENT_SECRET', schema: z.string().min(8).default('dev-bff-secret-change-me'), doc: "that client's secret", devDefault: true },
  keycloakCallbackSecret: {
    env: 'KEYCLOAK_CALLBACK_SECRET',
    schema: z.string().min(16).default('dev-keycloak-callback-secret'),
    doc: "shared secret of Keycloak's platform-bff-check and platform-state-claim authenticators (their KC_SPI_AUTHENTICATOR__<ID>__SECRET) on /internal/v1/keycloak/*",
    devDefault: true,
  },
  upstreamUrl: { env: 'UPSTREAM_URL', schema: url.default('http://127.0.0.1:4010'), doc: 'base URL of the upstream core system' },
  upstreamApiKey: {
    env: 'UPSTREAM_API_KEY',
    schema: z.string().min(8).default('dev-upstream-api-key'),
    doc: 'API key for the upstream core',
    devDefault: true,
  },
  upstreamTimeoutMs: { env: 'UPSTREAM_TIMEOUT_MS', schema: ms.default(3000), doc: 'timeout of one upstream call' },
  upstreamRetries: { env: 'UPSTREAM_RETRIES', schema: z.coerce.number().int().min(0).max(5).default(2), doc: 'retries of idempotent upstream calls' },
  upstreamLoginMaxFailures: {
    env: 'UPSTREAM_LOGIN_MAX_FAILURES',
    schema: z.coerce.number().int().min(1).default(5),
    doc: 'wrong upstream passwords per login (lazy migration) in a failure window before the core is not asked any more',
  },
  upstreamLoginFailureWindowSeconds: {
    env: 'UPSTREAM_LOGIN_FAILURE_WINDOW_SECONDS',
    schema: z.coerce.number().int().min(60).default(900),
    doc: 'window in which wrong upstream passwords of one login are counted',
  },
  readinessTimeoutMs: { env: 'READINESS_TIMEOUT_MS', schema: ms.default(2000), doc: 'timeout of each /readyz dependency check' },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', schema: ms.default(10_000), doc: 'how long in-flight requests may finish on SIGTERM' },
  smtpHost: { env: 'SMTP_HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'SMTP server of outgoing mail (OTPs, confirmation links)' },
  smtpPort: { env: 'SMTP_PORT', schema: port.default(2525), doc: 'its port' },
  smtpFrom: { env: 'SMTP_FROM', schema: z.string().min(3).default('Identity Platform <no-reply@identity-platform.local>'), doc: 'From: of outgoing mail' },
  smtpUser: { env: 'SMTP_USER', schema: z.string().default(''), doc: 'SMTP login (empty: no authentication)' },
  smtpPassword: { env: 'SMTP_PASSWORD', schema: z.string().default(''), doc: 'SMTP password' },
  smsGatewayUrl: { env: 'SMS_GATEWAY_URL', schema: url.default('http://127.0.0.1:8025/sms'), doc: 'HTTP SMS gateway: JSON POST {to, text}' },
  smsGatewayToken: { env: 'SMS_GATEWAY_TOKEN', schema: z.string().default(''), doc: 'bearer token for the SMS gateway (empty: none)' },
  defaultPhoneCountry: {
    env: 'DEFAULT_PHONE_COUNTRY',
    schema: z
      .string()
      .default('IN')
      .refine((c) => isPhoneCountry(c), 'an ISO 3166 alpha-2 country code with a phone numbering plan'),
    doc: 'country of phone numbers typed without a country code',
  },
  otpHashKey: {
    env: 'OTP_HASH_KEY',
    schema: z.string().min(32).default('dev-otp-hash-key-change-me-0123456789'),
    doc: 'HMAC key of stored OTP hashes, identifier keys, rate-limit counter keys and every keyed hash of personal data kept only to compare (32+ characters)',
    devDefault: true,
  },
  otpTtlSeconds: { env: 'OTP_TTL_SECONDS', schema: z.coerce.number().int().min(30).default(600), doc: 'how long a one-time code is valid' },
  otpMaxAttempts: {
    env: 'OTP_MAX_ATTEMPTS',
    schema: z.coerce.number().int().min(1).default(5),
    doc: 'wrong codes per identifier (across codes, per failure window) before the code dies',
  },
  otpFailureWindowSeconds: {
    env: 'OTP_FAILURE_WINDOW_SECONDS',
    schema: z.coerce.number().int().min(60).default(3600),
    doc: 'window in which wrong codes are counted; a new code does not reset it',
  },
  otpResendCooldownSeconds: {
    env: 'OTP_RESEND_COOLDOWN_SECONDS',
    schema: z.coerce.number().int().min(0).default(60),
    doc: 'least time between two codes to one identifier (0: none)',
  },
  otpPerIdentifierPerHour: {
    env: 'OTP_PER_IDENTIFIER_PER_HOUR',
    schema: z.coerce.number().int().positive().default(5),
    doc: 'codes one identifier may be sent per hour',
  },
  otpPerIdentifierPerDay: {
    env: 'OTP_PER_IDENTIFIER_PER_DAY',
    schema: z.coerce.number().int().positive().default(20),
    doc: 'codes one identifier may be sent per day',
  },
  otpSendsPerIpPerHour: {
    env: 'OTP_SENDS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(30),
    doc: 'codes one client IP may ask for per hour',
  },
  otpVerifiesPerIpPerHour: {
    env: 'OTP_VERIFIES_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(60),
    doc: 'code checks one client IP may make per hour',
  },
  otpProofTtlSeconds: {
    env: 'OTP_PROOF_TTL_SECONDS',
    schema: z.coerce.number().int().min(60).default(900),
    doc: 'how long the proof of a verified identifier can be used (e.g. to finish sign-up)',
  },
  fieldEncryptionKeys: {
    env: 'FIELD_ENCRYPTION_KEYS',
    schema: z.string().min(1).default('dev1:Qh7TAdfrSGz7/A+QjTJjkISPFfuH2bqPq5VroWa433c='),
    doc: 'key ring of field encryption at rest (PII, handoffs): kid:base64(32 bytes), comma-separated; keep old keys until nothing sealed with them is alive',
    devDefault: true,
  },
  fieldEncryptionActiveKey: {
    env: 'FIELD_ENCRYPTION_ACTIVE_KEY',
    schema: z.string().min(1).default('dev1'),
    doc: 'kid of FIELD_ENCRYPTION_KEYS that seals new values',
  },
  partnerAuthTokenTtlSeconds: {
    env: 'PARTNER_AUTH_TOKEN_TTL_SECONDS',
    schema: z.coerce.number().int().min(60).max(3600).default(900),
    doc: 'lifetime of a partner authToken (and of the PII kept with it)',
  },
  partnerFrameOriginsAllowHttp: {
    env: 'PARTNER_FRAME_ORIGINS_ALLOW_HTTP',
    schema: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    doc: 'accept plain http frame origins of partners (who may frame the super component) for any host; off: http only for localhost, 127.0.0.1 and [::1], https otherwise',
  },
  partnerCacheSeconds: {
    env: 'PARTNER_CACHE_SECONDS',
    schema: z.coerce.number().int().min(0).max(60).default(5),
    doc: "how long a process answers an enrolled user's POST from memory; settings changed by another process (CLI, another BFF) apply within it; 0 reads every time",
  },
  stateClaimTtlSeconds: {
    env: 'STATE_CLAIM_TTL_SECONDS',
    schema: z.coerce.number().int().min(300).max(3600).default(1800),
    doc: "lifetime of a state claim flow (first login through a state IdP); at most Keycloak's login action lifespan",
  },
  stateClaimHandoffTtlSeconds: {
    env: 'STATE_CLAIM_HANDOFF_TTL_SECONDS',
    schema: z.coerce.number().int().min(30).max(900).default(300),
    doc: 'lifetime of an identifier handoff (BFF -> Keycloak -> BFF)',
  },
  stateClaimTenants: {
    env: 'STATE_CLAIM_TENANTS',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+:[A-Za-z0-9._-]+)*$/)
      .default('state-demo:state-demo')
      .transform((v) => Object.fromEntries(v.split(',').map((pair) => pair.split(':') as [string, string]))),
    doc: 'state IdPs and their tenants: `idpAlias:organizationAlias`, comma-separated',
  },
  upstreamOutboxEnabled: {
    env: 'UPSTREAM_OUTBOX_ENABLED',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    doc: 'run the upstream outbox in this process: read Keycloak events, deliver changes of linked members to the upstream core (decision 0013)',
  },
  upstreamOutboxIntervalMs: { env: 'UPSTREAM_OUTBOX_INTERVAL_MS', schema: ms.default(2000), doc: 'pause between outbox passes when there was nothing to do' },
  upstreamOutboxMaxAttempts: {
    env: 'UPSTREAM_OUTBOX_MAX_ATTEMPTS',
    schema: z.coerce.number().int().min(1).max(100).default(15),
    doc: 'delivery attempts of an outbox row before it is failed (refusals fail at once)',
  },
  upstreamOutboxBaseDelayMs: {
    env: 'UPSTREAM_OUTBOX_BASE_DELAY_MS',
    schema: ms.default(2000),
    doc: 'first retry delay of an outbox row; doubles per attempt, with jitter',
  },
  upstreamOutboxMaxDelayMs: { env: 'UPSTREAM_OUTBOX_MAX_DELAY_MS', schema: ms.default(600_000), doc: 'upper bound of the retry delay' },
  upstreamRolesEnabled: {
    env: 'UPSTREAM_ROLES_ENABLED',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    doc: "run the upstream roles sync in this process: follow the core's change feed, copy members' roles into Keycloak (decision 0033)",
  },
  upstreamRolesPollMs: {
    env: 'UPSTREAM_ROLES_POLL_MS',
    schema: ms.default(5000),
    doc: "pause between reads of the core's change feed once read to its end; a role change reaches the next token within about this plus the time to apply it",
  },
  retentionSweepIntervalMs: {
    env: 'RETENTION_SWEEP_INTERVAL_MS',
    schema: ms.default(600_000),
    doc: 'pause between passes of the retention sweep (expired flows and handoffs, old delivered outbox rows; decision 0015)',
  },
  upstreamOutboxRetentionDays: {
    env: 'UPSTREAM_OUTBOX_RETENTION_DAYS',
    schema: z.coerce.number().int().min(1).max(3650).default(30),
    doc: 'days a delivered outbox row is kept (for the admin view) before the retention sweep deletes it',
  },
  memberImportEnabled: {
    env: 'MEMBER_IMPORT_ENABLED',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    doc: "work on member imports' rows in this process (every BFF process may; decision 0035)",
  },
  memberImportMaxBytes: {
    env: 'MEMBER_IMPORT_MAX_BYTES',
    schema: z.coerce.number().int().min(1024).max(1_073_741_824).default(20_971_520),
    doc: 'largest member file taken (bytes); larger: 413, nothing kept',
  },
  memberImportMaxRows: {
    env: 'MEMBER_IMPORT_MAX_ROWS',
    schema: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
    doc: 'most data rows of one member file; more: 413, nothing kept',
  },
  memberImportBatchSize: {
    env: 'MEMBER_IMPORT_BATCH_SIZE',
    schema: z.coerce.number().int().min(1).max(1000).default(50),
    doc: 'rows of a member import written per statement, and leased by a worker per pass',
  },
  memberImportConcurrency: {
    env: 'MEMBER_IMPORT_CONCURRENCY',
    schema: z.coerce.number().int().min(1).max(64).default(4),
    doc: 'rows one process works on at once (each is a few Keycloak and upstream calls)',
  },
  memberImportIntervalMs: {
    env: 'MEMBER_IMPORT_INTERVAL_MS',
    schema: ms.default(2000),
    doc: 'pause between passes of the import worker when there was nothing to do',
  },
  memberImportLeaseMs: {
    env: 'MEMBER_IMPORT_LEASE_MS',
    schema: z.coerce.number().int().min(10_000).max(3_600_000).default(120_000),
    doc: "how long a worker holds a row; a crashed worker's rows are taken again after it",
  },
  memberImportRetryBaseMs: {
    env: 'MEMBER_IMPORT_RETRY_BASE_MS',
    schema: ms.default(5000),
    doc: 'first delay of a row whose dependency (Keycloak, the core, mail) was down; doubles per attempt, at most 10 minutes',
  },
  s3Endpoint: {
    env: 'S3_ENDPOINT',
    schema: url.default('http://127.0.0.1:4568'),
    doc: 'S3 (or S3-protocol) endpoint of the object store that keeps profile pictures (decision 0038); the dev stack runs s3rver here',
  },
  s3Region: { env: 'S3_REGION', schema: z.string().min(1).default('us-east-1'), doc: 'region of the object store' },
  s3Bucket: {
    env: 'S3_BUCKET',
    schema: z.string().min(3).max(63).default('platform-pictures'),
    doc: 'bucket of profile pictures (private; pictures are served by the BFF)',
  },
  s3ForcePathStyle: {
    env: 'S3_FORCE_PATH_STYLE',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    doc: 'path-style bucket addresses (endpoint/bucket/key), as S3-protocol servers other than AWS need; false for virtual-hosted AWS addresses',
  },
  s3AccessKeyId: { env: 'S3_ACCESS_KEY_ID', schema: z.string().min(1).default('S3RVER'), doc: 'access key of the object store', devDefault: true },
  s3SecretAccessKey: { env: 'S3_SECRET_ACCESS_KEY', schema: z.string().min(1).default('S3RVER'), doc: 'secret key of the object store', devDefault: true },
  pictureMaxBytes: {
    env: 'PICTURE_MAX_BYTES',
    schema: z.coerce.number().int().min(1024).max(52_428_800).default(5_242_880),
    doc: 'largest profile picture upload (bytes); larger: 413, nothing kept',
  },
  pictureMaxPixels: {
    env: 'PICTURE_MAX_PIXELS',
    schema: z.coerce.number().int().min(1).max(268_402_689).default(40_000_000),
    doc: 'most pixels (width x height) an uploaded picture may declare (decompression bombs); more: 400 too_many_pixels, nothing kept',
  },
  pictureSize: {
    env: 'PICTURE_SIZE',
    schema: z.coerce.number().int().min(32).max(2048).default(512),
    doc: 'side of the stored square profile picture (pixels, WebP)',
  },
  pictureWorkerEnabled: {
    env: 'PICTURE_WORKER_ENABLED',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    doc: 're-encode uploaded profile pictures in this process (every BFF process may; decision 0038)',
  },
  pictureJobLeaseMs: {
    env: 'PICTURE_JOB_LEASE_MS',
    schema: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
    doc: "how long a worker holds a picture job; a crashed worker's job is taken again after it",
  },
  pictureWorkerIntervalMs: {
    env: 'PICTURE_WORKER_INTERVAL_MS',
    schema: ms.default(1000),
    doc: 'pause between passes of the picture worker when there was nothing to do',
  },
  pictureUploadWaitMs: {
    env: 'PICTURE_UPLOAD_WAIT_MS',
    schema: z.coerce.number().int().min(0).max(60_000).default(10_000),
    doc: 'how long an upload waits for its job (so a picture that does not decode is refused with 400); longer: 202, processing',
  },
  partnerKbaMaxAttempts: {
    env: 'PARTNER_KBA_MAX_ATTEMPTS',
    schema: z.coerce.number().int().min(1).max(10).default(3),
    doc: 'wrong KBA answer sets an authToken allows before it dies',
  },
  partnerKbaStartsPerToken: {
    env: 'PARTNER_KBA_STARTS_PER_TOKEN',
    schema: z.coerce.number().int().min(1).max(10).default(3),
    doc: 'KBA starts (upstream look-ups of the confirmed PII) one authToken allows; beyond it 429 until the token expires',
  },
  partnerKbaStartsPerClientPerHour: {
    env: 'PARTNER_KBA_STARTS_PER_CLIENT_PER_HOUR',
    schema: z.coerce.number().int().min(1).max(1_000_000).default(100),
    doc: 'KBA starts one partner client may make per hour, over all its authTokens and every BFF process (counted in Redis); beyond it 429',
  },
  partnerUserTokenClientId: {
    env: 'PARTNER_USER_TOKEN_CLIENT_ID',
    schema: z.string().min(1).default('partner-user-tokens'),
    doc: 'confidential client that obtains userTokens with the JWT authorization grant',
  },
  partnerUserTokenClientSecret: {
    env: 'PARTNER_USER_TOKEN_CLIENT_SECRET',
    schema: z.string().min(8).default('dev-partner-user-tokens-secret'),
    doc: "that client's secret",
    devDefault: true,
  },
  partnerAssertionKey: {
    env: 'PARTNER_ASSERTION_PRIVATE_KEY',
    schema: z
      .string()
      .min(1)
      .default(
        'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRDZzsOrLYvxKtvJ+5lAJ3DdahmttlnyyAle3pD+GE4mhRANCAASbu6cGf2FtPsnBYXIV1av3lJhzl4rjeExLjPG6+KlYQokhbPz4kBLoL/33ZWQ21Vj4M4C04bMW4NF+6cyX3FzO',
      ),
    doc: 'P-256 private key (PKCS#8, PEM or base64 DER) signing the JWT assertions for userTokens; its public key is the bff-assertions IdP key',
    devDefault: true,
  },
  partnerAssertionKeyId: { env: 'PARTNER_ASSERTION_KEY_ID', schema: z.string().min(1).default('dev-1'), doc: 'kid of that key (the IdP names the same kid)' },
  googleNativeIdentityProvider: {
    env: 'GOOGLE_NATIVE_IDP',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .default('google-demo'),
    doc: 'Keycloak identity provider (alias) whose Google identities native apps sign in with (POST /api/v1/google/token, decision 0037): `google` in production, the `google-demo` stand-in in dev and tests',
  },
  googleIdTokenIssuer: {
    env: 'GOOGLE_ID_TOKEN_ISSUER',
    schema: url.optional(),
    doc: 'issuer of the id_tokens native apps send: `https://accounts.google.com` for Google; unset, the google-demo realm of KEYCLOAK_URL',
  },
  googleIdTokenJwksUrl: {
    env: 'GOOGLE_ID_TOKEN_JWKS_URL',
    schema: url.optional(),
    doc: "the issuer's keys: `https://www.googleapis.com/oauth2/v3/certs` for Google; unset, the issuer's `/protocol/openid-connect/certs`",
  },
  googleIdTokenAudiences: {
    env: 'GOOGLE_ID_TOKEN_AUDIENCES',
    schema: z
      .string()
      .default('platform-broker')
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(1)).min(1)),
    doc: "our Google OAuth client ids (comma-separated) an id_token's `aud` must name; Keycloak accepts only the identity provider's client id, so keep that one",
  },
  googleNativeClientId: {
    env: 'GOOGLE_NATIVE_CLIENT_ID',
    schema: z.string().min(1).default('google-native'),
    doc: "confidential client that exchanges a verified Google id_token for the person's tokens (JWT authorization grant with the Google identity providers)",
  },
  googleNativeClientSecret: {
    env: 'GOOGLE_NATIVE_CLIENT_SECRET',
    schema: z.string().min(8).default('dev-google-native-secret'),
    doc: "that client's secret",
    devDefault: true,
  },
  googleNativeSignInsPerIpPerHour: {
    env: 'GOOGLE_NATIVE_SIGN_INS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(30),
    doc: 'native-app Google sign-ins (POST /api/v1/google/token, good or not) one client IP may make per hour',
  },
  userApiClientId: {
    env: 'USER_API_CLIENT_ID',
    schema: z.string().min(1).default('user-api'),
    doc: 'confidential client whose password grant signs people in through the user-management API',
  },
  userApiClientSecret: {
    env: 'USER_API_CLIENT_SECRET',
    schema: z.string().min(8).default('dev-user-api-secret-change-me'),
    doc: "that client's secret",
    devDefault: true,
  },
  userApiTokenClients: {
    env: 'USER_API_TOKEN_CLIENTS',
    schema: z
      .string()
      .default('user-api,portal')
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1)),
    doc: 'clients whose access tokens /api/v1/user(s) accept (comma-separated; partner server tokens also carry audience bff)',
  },
  emailConfirmationTtlSeconds: {
    env: 'EMAIL_CONFIRMATION_TTL_SECONDS',
    schema: z.coerce.number().int().min(60).default(86_400),
    doc: 'how long a registration confirmation link is valid',
  },
  emailConfirmationCooldownSeconds: {
    env: 'EMAIL_CONFIRMATION_COOLDOWN_SECONDS',
    schema: z.coerce.number().int().min(0).default(60),
    doc: 'least time between two confirmation mails to one address (0: none)',
  },
  emailConfirmationMailsPerHour: {
    env: 'EMAIL_CONFIRMATION_MAILS_PER_HOUR',
    schema: z.coerce.number().int().positive().default(5),
    doc: 'confirmation resends one address may ask for per hour',
  },
  emailConfirmationRequestsPerIpPerHour: {
    env: 'EMAIL_CONFIRMATION_REQUESTS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(20),
    doc: 'confirmation resends one client IP may ask for per hour',
  },
  registerRequestsPerIpPerHour: {
    env: 'REGISTER_REQUESTS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(20),
    doc: 'registrations one client IP (IPv6: /64) may ask for per hour',
  },
  registerRequestsPerEmailPerHour: {
    env: 'REGISTER_REQUESTS_PER_EMAIL_PER_HOUR',
    schema: z.coerce.number().int().positive().default(5),
    doc: 'registrations one email address may be given in per hour (each mails the address)',
  },
  loginFailuresPerIpPerHour: {
    env: 'LOGIN_FAILURES_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(100),
    doc: "refused passwords one client IP may have per hour (API login and the state claim's password step together); then 429 until the hour ends",
  },
  loginFailuresPerEmailAndIpPerHour: {
    env: 'LOGIN_FAILURES_PER_EMAIL_AND_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(10),
    doc: 'refused passwords for one email from one client IP per hour (other IPs are not affected: no lockout by strangers)',
  },
  confirmFailuresPerIpPerHour: {
    env: 'CONFIRM_FAILURES_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(20),
    doc: 'confirmation links one client IP may open that are not valid, per hour',
  },
  refreshFailuresPerIpPerHour: {
    env: 'REFRESH_FAILURES_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(60),
    doc: 'refresh tokens Keycloak refuses (refresh, logout) one client IP may send per hour',
  },
  signUpRequestsPerIpPerHour: {
    env: 'SIGNUP_REQUESTS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(20),
    doc: 'account creations (POST /api/v1/signup) one client IP may ask for per hour',
  },
  signUpRequestsPerIdentifierPerHour: {
    env: 'SIGNUP_REQUESTS_PER_IDENTIFIER_PER_HOUR',
    schema: z.coerce.number().int().positive().default(10),
    doc: 'account creations per proven email/phone per hour (counted only once the proof is good, so only its owner uses them up)',
  },
  signUpChecksPerIpPerHour: {
    env: 'SIGNUP_CHECKS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(60),
    doc: 'sign-up detail checks (POST /api/v1/signup/check: username free, password policy) one client IP may ask for per hour',
  },
  signUpTicketTtlSeconds: {
    env: 'SIGNUP_TICKET_TTL_SECONDS',
    schema: z.coerce.number().int().min(30).max(900).default(300),
    doc: 'lifetime of the single-use ticket with which a finished sign-up signs in at Keycloak (issue 17 §3, decision 0027)',
  },
  stateLinkIssuers: {
    env: 'STATE_LINK_ISSUERS',
    schema: z
      .string()
      .default('[]')
      .transform((v, ctx) => {
        try {
          return JSON.parse(v) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not JSON' });
          return z.NEVER;
        }
      })
      .pipe(
        z
          .array(
            z.strictObject({
              issuer: z.string().min(1),
              jwksUrl: url,
              audience: z.string().min(1),
              tenant: z.string().regex(/^[A-Za-z0-9._-]+$/),
              identityProvider: z
                .string()
                .regex(/^[A-Za-z0-9._-]+$/)
                .optional(),
            }),
          )
          .refine((list) => new Set(list.map((i) => i.issuer)).size === list.length, 'an issuer is listed twice'),
      ),
    doc: 'state portals trusted to sign people in with a link (decision 0039): JSON `[{issuer, jwksUrl, audience, tenant, identityProvider?}]`; `tenant` is the Keycloak organization of its people, `identityProvider` the state IdP a custodian match is sent through for the claim',
  },
  stateLinkMaxAgeSeconds: {
    env: 'STATE_LINK_MAX_AGE_SECONDS',
    schema: z.coerce.number().int().min(30).max(3600).default(300),
    doc: 'oldest state portal link accepted (its `iat`), whatever its `exp` says',
  },
  stateLinkClockToleranceSeconds: {
    env: 'STATE_LINK_CLOCK_TOLERANCE_SECONDS',
    schema: z.coerce.number().int().min(0).max(60).default(10),
    doc: "clock skew allowed against a state portal's `iat`/`exp`/`nbf`",
  },
  stateLinkJwksCacheSeconds: {
    env: 'STATE_LINK_JWKS_CACHE_SECONDS',
    schema: z.coerce.number().int().min(0).max(86400).default(600),
    doc: "how long a state portal's published keys (JWKS) are used before they are fetched again; an unknown key id fetches at once (rotation)",
  },
  stateLinkJwksCooldownSeconds: {
    env: 'STATE_LINK_JWKS_COOLDOWN_SECONDS',
    schema: z.coerce.number().int().min(0).max(3600).default(30),
    doc: "least time between two fetches of a state portal's JWKS (links with unknown key ids cannot make the BFF fetch more often)",
  },
  stateLinkTtlSeconds: {
    env: 'STATE_LINK_TTL_SECONDS',
    schema: z.coerce.number().int().min(60).max(3600).default(900),
    doc: 'lifetime of a sign-in started by a state portal link (its code step included)',
  },
  invitationTtlHours: {
    env: 'INVITATION_TTL_HOURS',
    schema: z.coerce.number().int().min(1).max(2160).default(168),
    doc: 'how long an invitation link into a tenant stays valid (issue 18, decision 0034); a resend starts it again',
  },
  invitationAcceptsPerIpPerHour: {
    env: 'INVITATION_ACCEPTS_PER_IP_PER_HOUR',
    schema: z.coerce.number().int().positive().default(30),
    doc: 'invitation accepts (a new account, or a signed-in account through the portal, right or wrong) one client IP may try per hour',
  },
  portalClientId: {
    env: 'PORTAL_CLIENT_ID',
    schema: z.string().min(1).default('portal'),
    doc: 'public client the demo portal (/portal/) signs in with (keycloak-js, code + PKCE)',
  },
  portalStateIdp: {
    env: 'PORTAL_STATE_IDP',
    schema: z.string().min(1).default('state-demo'),
    doc: 'IdP alias of the portal\'s "Sign in with your state" (keycloak-js idpHint)',
  },
  portalGoogleIdp: {
    env: 'PORTAL_GOOGLE_IDP',
    schema: z.string().min(1).default('google-demo'),
    doc: 'IdP alias of the portal\'s "Sign in with Google" (google when the real Google IdP is configured)',
  },
} as const;

type Entries = typeof entries;
export type Config = { [K in keyof Entries]: z.output<Entries[K]['schema']> };

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(entries)) {
    const raw = env[entry.env];
    const parsed = entry.schema.safeParse(raw === '' ? undefined : raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${entry.env}: ${parsed.error.issues.map((i) => i.message).join('; ')} (${entry.doc})`);
  }
  const config = out as Config;
  if (problems.length === 0) {
    try {
      parseKeyRing(config.fieldEncryptionKeys, config.fieldEncryptionActiveKey);
    } catch (err) {
      problems.push(`FIELD_ENCRYPTION_KEYS / FIELD_ENCRYPTION_ACTIVE_KEY: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0 && config.nodeEnv === 'production') {
    // A state's keys decide who is signed in without a password: never fetched in clear (decision 0039).
    for (const i of config.stateLinkIssuers)
      if (!i.jwksUrl.startsWith('https:')) problems.push(`STATE_LINK_ISSUERS: jwksUrl of ${i.issuer} must be https in production`);
    // Development defaults of secrets are public (they are in this repository): refuse them, whether
    // the variable is unset, empty (which falls back to the default) or set to the default itself.
    for (const [key, entry] of Object.entries(entries)) {
      if ('devDefault' in entry && entry.devDefault && out[key] === entry.schema.safeParse(undefined).data) {
        problems.push(`${entry.env}: must be set in production to a value other than the development default (${entry.doc})`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return config;
}

/** The configuration table of the README is generated from this list (see test/unit of config). */
export const configDocs = Object.values(entries).map((e) => ({
  env: e.env,
  doc: e.doc,
  default: (() => {
    const d = e.schema.safeParse(undefined);
    return d.success ? String(d.data) : '(required)';
  })(),
}));
