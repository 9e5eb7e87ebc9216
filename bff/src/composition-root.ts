import type { EntityManager } from '@mikro-orm/core';
import type Koa from 'koa';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { AccountService } from './accounts/account-service.ts';
import { AccountCreationSeal } from './accounts/account-creation-seal.ts';
import { IdentifierChangeNotices } from './accounts/identifier-change-notices.ts';
import { PlatformAccountService } from './accounts/platform-account-service.ts';
import { AccessTokenVerifier } from './adapters/keycloak/access-token-verifier.ts';
import { GoogleIdTokenVerifier } from './adapters/google/google-id-token-verifier.ts';
import { AssertionUserTokens } from './adapters/keycloak/assertion-user-tokens.ts';
import { KeycloakFederatedAccounts } from './adapters/keycloak/keycloak-federated-accounts.ts';
import { KeycloakIdentityDirectory } from './adapters/keycloak/keycloak-identity-directory.ts';
import { KeycloakPartnerClients } from './adapters/keycloak/keycloak-partner-clients.ts';
import { KeycloakUserChangeFeed } from './adapters/keycloak/keycloak-user-change-feed.ts';
import { KeycloakUserTokens } from './adapters/keycloak/keycloak-user-tokens.ts';
import { ServiceAccountTokens } from './adapters/keycloak/service-account-tokens.ts';
import { SmtpMailer } from './adapters/mail/smtp-mailer.ts';
import { S3ObjectStorage } from './adapters/object-storage/s3-object-storage.ts';
import { connectRedis } from './adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from './adapters/redis/redis-ephemeral-store.ts';
import { RedisFlowStore } from './adapters/redis/redis-flow-store.ts';
import { HttpSmsGateway } from './adapters/sms/http-sms-gateway.ts';
import { HttpUpstreamCore } from './adapters/upstream-core/http-upstream-core.ts';
import type { MemberImportAdmin } from './admin/member-imports/use-cases.ts';
import { wireMemberImportAdmin } from './admin/member-imports/wire.ts';
import type { MemberAdmin } from './admin/members/use-cases.ts';
import { wireMemberAdmin } from './admin/members/wire.ts';
import type { PartnerAdmin } from './admin/partners/use-cases.ts';
import { wirePartnerAdmin } from './admin/partners/wire.ts';
import { wireAccountMerge } from './flows/account-merge/wire.ts';
import { wireBrokeredLogin } from './flows/brokered-login/wire.ts';
import { wireGoogleNative } from './flows/google-native/wire.ts';
import { AUTH_TOKEN_KEYS } from './flows/partner-enrollment/service.ts';
import { PARTNER_ENROLLMENT_KIND } from './flows/partner-enrollment/partner-enrollment.machine.ts';
import { wirePartnerEnrollment } from './flows/partner-enrollment/wire.ts';
import { wirePartnerUserApi } from './flows/partner-user-api/wire.ts';
import { wirePasswordReset } from './flows/password-reset/wire.ts';
import { wireSignUp } from './flows/sign-up/wire.ts';
import type { HandoffStore } from './flows/state-claim/handoffs.ts';
import { wireStateClaim } from './flows/state-claim/wire.ts';
import { continueUrl as signUpContinueUrl, restartTargetOf } from './flows/sign-up/return-url.ts';
import { SignInTickets } from './flows/sign-up/sign-in-tickets.ts';
import { wireStateLink } from './flows/state-link/wire.ts';
import { wireUpstreamLogin } from './flows/upstream-login/wire.ts';
import { wireUserManagement } from './flows/user-management/wire.ts';
import { createApp } from './http/app.ts';
import type { Feature, Job } from './http/feature.ts';
import { loadOpenApi } from './http/openapi.ts';
import { pageAssets } from './http/pages.ts';
import { staticAssets } from './http/static-assets.ts';
import { BackgroundTasks } from './kernel/background-tasks.ts';
import { FieldEncryption, parseKeyRing } from './kernel/crypto/field-encryption.ts';
import { type FlowStore, FlowRuntime, PostgresFlowStore } from './kernel/flow/index.ts';
import { AddressSet } from './kernel/ip-ranges.ts';
import { createLogger, type Logger } from './kernel/logger.ts';
import { OtpService } from './otp/otp-service.ts';
import { wireOtp } from './otp/wire.ts';
import { PartnerStore } from './partners/partner-store.ts';
import { PictureStore } from './pictures/picture-store.ts';
import { forgetPictures, type Pictures } from './pictures/pictures.ts';
import { wirePictures } from './pictures/wire.ts';
import { wireInvitationAdmin } from './admin/invitations/wire.ts';
import { wireInvitationFlow } from './flows/invitation/wire.ts';
import { Invitations } from './invitations/invitations.ts';
import type { ImportWorker } from './member-imports/worker.ts';
import { wireMemberImports } from './member-imports/wire.ts';
import { createOrm, type Orm } from './persistence/orm.ts';
import { wirePortal } from './portal/wire.ts';
import type { AccessTokens } from './ports/access-tokens.ts';
import type { EphemeralStore } from './ports/ephemeral-store.ts';
import type { FederatedAccounts } from './ports/federated-accounts.ts';
import type { GoogleIdTokens } from './ports/google-id-tokens.ts';
import type { IdentityDirectory } from './ports/identity-directory.ts';
import type { Mailer, SmsGateway } from './ports/messaging.ts';
import type { ObjectStorage } from './ports/object-storage.ts';
import type { PartnerClients } from './ports/partner-clients.ts';
import type { PartnerUserTokens } from './ports/partner-user-tokens.ts';
import type { UpstreamCore } from './ports/upstream-core.ts';
import type { UserChangeFeed } from './ports/user-change-feed.ts';
import type { UserTokens } from './ports/user-tokens.ts';
import { RateLimiter } from './rate-limits/rate-limiter.ts';
import { RetentionSweep, type RetentionTask } from './retention/retention-sweep.ts';
import { OutboxStore } from './upstream-sync/outbox-store.ts';
import { RoleFeedCursor } from './upstream-sync/role-feed-cursor.ts';
import { wireUpstreamRoles } from './upstream-sync/roles-wire.ts';
import type { UpstreamSync } from './upstream-sync/upstream-sync.ts';
import { wireUpstreamSync } from './upstream-sync/wire.ts';

/**
 * The composition root: the only place that constructs adapters. It builds the shared infrastructure
 * (PostgreSQL, Redis, the Keycloak and upstream core adapters, field encryption, mail and SMS, and the
 * services over them that several features use), then lists the features: each feature's `wire.ts`
 * takes what it declares of the infrastructure and returns its routers, assets and background jobs.
 * The CLIs build the same infrastructure without Redis and the HTTP app, and run the same wiring.
 */

/** What every BFF process shares, the server and the CLIs alike; only the ORM's pool connects here. */
export interface Core {
  config: Config;
  logger: Logger;
  orm: Orm;
  /** The root entity manager (each operation forks its own). */
  em: EntityManager;
  /** Authenticated encryption of values at rest (key ring from FIELD_ENCRYPTION_KEYS). */
  fieldEncryption: FieldEncryption;
  /** The BFF's own Keycloak service account (client credentials of BFF_CLIENT_ID). */
  serviceAccountTokens: ServiceAccountTokens;
  identityDirectory: IdentityDirectory;
  upstreamCore: UpstreamCore;
  /** Verifies access tokens of the platform realm (signature, issuer, expiry, audience). */
  accessTokens: AccessTokens;
  /** Keycloak's user and admin events. */
  userChangeFeed: UserChangeFeed;
  /** Partners' Keycloak clients. */
  partnerClients: PartnerClients;
  /** Partner settings (PostgreSQL, cached). */
  partners: PartnerStore;
  /** Outgoing mail (SMTP) and SMS (HTTP gateway); both throw DELIVERY_FAILED. */
  mailer: Mailer;
  smsGateway: SmsGateway;
  /** Accounts across Keycloak, the upstream core and the BFF store (create / provision / delete). */
  accounts: AccountService;
  /** Previous e-mail addresses and phone numbers are told of a change (decision 0020). */
  notices: IdentifierChangeNotices;
  /** The Keycloak -> upstream core outbox (decision 0013). */
  outbox: OutboxStore;
  /** Invitations into a tenant: the admin API, the CLI, the member import and the accept pages (decision 0034). */
  invitations: Invitations;
  /** How far the core's change feed has been applied to Keycloak (decision 0033). */
  roleFeedCursor: RoleFeedCursor;
  /** The object store of profile pictures (S3; s3rver in dev and tests; decision 0038). */
  objectStorage: ObjectStorage;
  /** Profile pictures' rows and job queue (PostgreSQL). */
  pictureStore: PictureStore;
  close(): Promise<void>;
}

/** What serving requests adds: Redis and what lives there, the flow runtime, the token clients of the flows. */
export interface Infrastructure extends Core {
  redis: Redis;
  ephemeralStore: EphemeralStore;
  /** One-time codes and the verification proofs they are exchanged for (also `VerificationProofs`). */
  otp: OtpService;
  /** Per-IP and per-identifier limits of the credential and message routes (decision 0019), in Redis. */
  limiter: RateLimiter;
  /** Work requests start and do not wait for (registrations); `close()` drains it, tests `idle()` on it. */
  background: BackgroundTasks;
  /** Flows persisted in PostgreSQL (the state claim). */
  flowRuntime: FlowRuntime;
  /** Short-lived flows in Redis, each record expiring with its flow (partner enrollment). */
  ephemeralFlowStore: FlowStore;
  /** The `user-api` client's password grant: user-management sign-in and the state claim's password check. */
  userApiTokens: UserTokens;
  /** userTokens of the partner API (JWT authorization grant, decision 0009). */
  partnerUserTokens: PartnerUserTokens;
  /** Native apps' Google id_tokens, verified against Google's keys (decision 0037). */
  googleIdTokens: GoogleIdTokens;
  /** Keycloak's links to Google identities and its JWT authorization grant with Google's token (decision 0037). */
  federatedAccounts: FederatedAccounts;
}

export interface Container extends Infrastructure {
  /** Partner (DBP) administration: the admin API and `npm run partner` use the same use cases. */
  partnerAdmin: PartnerAdmin;
  /** Conversion of prospective members and the upstream outbox view (admin API and `npm run members`). */
  memberAdmin: MemberAdmin;
  /** State member imports (admin API and `npm run members -- import`; decision 0035). */
  memberImportAdmin: MemberImportAdmin;
  /** The worker of member imports' rows (started when MEMBER_IMPORT_ENABLED). */
  memberImportWorker: ImportWorker;
  /** Keycloak -> upstream core outbox (recorder + deliverer); started when UPSTREAM_OUTBOX_ENABLED. */
  upstreamSync: UpstreamSync;
  app: Koa;
  close(): Promise<void>;
}

export async function buildContainer(config: Config, opts: { logger?: Logger } = {}): Promise<Container> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const infra = await buildInfrastructure(config, logger);
  const { features, partnerAdmin, memberAdmin, memberImports, memberImportAdmin, upstreamSync, stateClaim, pictures } = wireFeatures(infra);
  const creationSeal = new AccountCreationSeal({ encryption: infra.fieldEncryption, hashKey: config.otpHashKey });
  const retention = retentionSweep(config, logger, {
    flowRuntime: infra.flowRuntime,
    handoffs: stateClaim.handoffs,
    outbox: infra.outbox,
    resealUsernames: () => creationSeal.resealStale(infra.em),
    pictures: { sweepDeleted: (n) => pictures.pictures.sweepDeleted(n), purgeFinishedJobs: (before) => infra.pictureStore.purgeFinishedJobs(before) },
  });
  const jobs: Job[] = [...features.flatMap((f) => f.jobs ?? []), retention];

  const app = createApp({
    logger,
    readinessTimeoutMs: config.readinessTimeoutMs,
    readiness: [
      { name: 'keycloak', check: () => infra.identityDirectory.ping() },
      {
        name: 'postgres',
        // A real round trip: MikroORM 7 connects lazily, so checkConnection() alone says nothing.
        check: async () => {
          await infra.em.getConnection().execute('select 1');
        },
      },
      { name: 'redis', check: () => infra.ephemeralStore.ping() },
      { name: 'upstream', check: () => infra.upstreamCore.ping() },
    ],
    openApi: loadOpenApi(),
    routers: features.flatMap((f) => f.routers),
    assets: staticAssets(Object.assign({}, pageAssets, ...features.map((f) => f.assets ?? {}))),
    registerMetrics: (registry) => {
      for (const f of features) f.registerMetrics?.(registry);
    },
    trustedProxies: new AddressSet(config.trustedProxies),
    streamedBodies: features.flatMap((f) => f.streamedBodies ?? []),
  });
  for (const job of jobs) job.start();

  return {
    ...infra,
    partnerAdmin: partnerAdmin.admin,
    memberAdmin: memberAdmin.admin,
    memberImportAdmin: memberImportAdmin.admin,
    memberImportWorker: memberImports.imports.worker,
    upstreamSync: upstreamSync.sync,
    app,
    async close() {
      // Registrations under way finish (their mails go out) before the pools close.
      await infra.background.idle();
      // A running outbox pass or sweep finishes (its transaction commits) before the pool closes.
      for (const job of jobs) await job.stop();
      await infra.close();
    },
  };
}

/**
 * Every feature of the BFF, wired from the infrastructure; their routes are mounted in this order. A
 * new feature is one more line here (and its paths in bff/openapi.yaml: the OpenAPI test lists the
 * routes of exactly this list). The ones named are also what the container hands out.
 */
export function wireFeatures(infra: Infrastructure) {
  const partnerAdmin = wirePartnerAdmin(infra);
  const memberAdmin = wireMemberAdmin(infra);
  const upstreamSync = wireUpstreamSync(infra);
  const stateClaim = wireStateClaim(infra);
  const pictures = wirePictures(infra);
  const memberImports = wireMemberImports(infra);
  const memberImportAdmin = wireMemberImportAdmin({
    config: infra.config,
    identityDirectory: infra.identityDirectory,
    accessTokens: infra.accessTokens,
    memberImports: memberImports.imports,
  });
  const features: Feature[] = [
    wireSignUp(infra),
    wirePortal(infra),
    wireOtp(infra),
    wireUserManagement(infra),
    wirePartnerEnrollment(infra),
    wirePartnerUserApi(infra),
    partnerAdmin,
    memberAdmin,
    wireBrokeredLogin(infra),
    wireGoogleNative(infra),
    stateClaim,
    wireUpstreamLogin(infra),
    wirePasswordReset(infra),
    wireInvitationAdmin(infra),
    wireInvitationFlow(infra),
    upstreamSync,
    wireUpstreamRoles(infra),
    wireAccountMerge(infra),
    memberImports,
    memberImportAdmin,
    wireStateLink(infra, keycloakSignIn(infra)),
    pictures,
  ];
  return { features, partnerAdmin, memberAdmin, memberImports, memberImportAdmin, upstreamSync, stateClaim, pictures };
}

/**
 * How a flow outside Keycloak ends signed in to it: the sign-up's single-use ticket for the
 * authentication session of Keycloak's restart URL (decision 0027), used by the state link (decision 0039).
 */
function keycloakSignIn(infra: Infrastructure) {
  const realm = { keycloakUrl: infra.config.keycloakUrl, realm: infra.config.realm };
  const tickets = new SignInTickets({ store: infra.ephemeralStore, ttlSeconds: infra.config.signUpTicketTtlSeconds });
  return {
    sessionOf: (returnUrl: unknown) => restartTargetOf(returnUrl, realm),
    continueUrl: async (userId: string, target: { clientId: string; tabId: string; clientData?: string }) =>
      signUpContinueUrl(realm, await tickets.mint({ userId, tabId: target.tabId }), target),
  };
}

/** What `npm run partner` (bff/src/cli/partner.ts) runs: the partner admin feature's wiring, without Redis or the HTTP app. */
export async function buildPartnerAdmin(config: Config): Promise<{ admin: PartnerAdmin; close(): Promise<void> }> {
  const core = await buildCore(config, cliLogger(config));
  return { admin: wirePartnerAdmin(core).admin, close: () => core.close() };
}

/** What `npm run members` (bff/src/cli/members.ts) runs: the member admin feature's wiring, without Redis or the HTTP app. */
export async function buildMemberAdmin(config: Config): Promise<{ admin: MemberAdmin; close(): Promise<void> }> {
  const core = await buildCore(config, cliLogger(config));
  return { admin: wireMemberAdmin(core).admin, close: () => core.close() };
}

/** What `npm run members -- invite|invitations|resend|revoke` runs: the invitation service, without Redis or the HTTP app. */
export async function buildInvitationAdmin(config: Config): Promise<{ admin: Invitations; close(): Promise<void> }> {
  const core = await buildCore(config, cliLogger(config));
  return { admin: core.invitations, close: () => core.close() };
}

/**
 * What `npm run members -- import` runs: the member import admin over the CLI's own worker (its
 * background job is not started: the CLI works on its file's rows itself, `admin.work`).
 */
export async function buildMemberImportAdmin(config: Config): Promise<{ admin: MemberImportAdmin; close(): Promise<void> }> {
  const core = await buildCore(config, cliLogger(config));
  const memberImports = wireMemberImports(core);
  return { admin: wireMemberImportAdmin({ ...core, memberImports: memberImports.imports }).admin, close: () => core.close() };
}

/** A CLI's log lines go to stderr (stdout is its JSON answer), and only from warnings up unless asked. */
function cliLogger(config: Config): Logger {
  return createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, destination: process.stderr });
}

async function buildCore(config: Config, logger: Logger): Promise<Core> {
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  const issuer = `${config.keycloakUrl}/realms/${config.realm}`;
  const serviceAccountTokens = new ServiceAccountTokens({ issuer, clientId: config.clientId, clientSecret: config.clientSecret });
  const identityDirectory = new KeycloakIdentityDirectory({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: serviceAccountTokens });
  const upstreamCore = new HttpUpstreamCore({
    baseUrl: config.upstreamUrl,
    apiKey: config.upstreamApiKey,
    timeoutMs: config.upstreamTimeoutMs,
    retry: { maxAttempts: config.upstreamRetries + 1 },
    logger: logger.child({ component: 'upstream-core' }),
  });
  const fieldEncryption = new FieldEncryption(parseKeyRing(config.fieldEncryptionKeys, config.fieldEncryptionActiveKey));
  const mailer = new SmtpMailer({ host: config.smtpHost, port: config.smtpPort, from: config.smtpFrom, user: config.smtpUser, password: config.smtpPassword });
  const smsGateway = new HttpSmsGateway({ url: config.smsGatewayUrl, token: config.smsGatewayToken });
  const partners = new PartnerStore({ em: orm.em, cacheMs: config.partnerCacheSeconds * 1000 });
  const objectStorage = new S3ObjectStorage({
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    bucket: config.s3Bucket,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    forcePathStyle: config.s3ForcePathStyle,
  });
  const pictureStore = new PictureStore({ orm });
  const pictureLogger = logger.child({ component: 'pictures' });
  const accounts = new PlatformAccountService({
    directory: identityDirectory,
    upstream: upstreamCore,
    em: orm.em,
    logger: logger.child({ component: 'accounts' }),
    forgetUser: async (userId) => {
      await partners.forgetUser(userId);
      // A deleted account's pictures go with it (decision 0038; the retention sweep catches other deletions).
      await forgetPictures({ store: pictureStore, storage: objectStorage, logger: pictureLogger }, userId);
    },
    identifierHashKey: config.otpHashKey,
    encryption: fieldEncryption,
    messages: { mailer, sms: smsGateway },
  });
  return {
    config,
    logger,
    orm,
    em: orm.em,
    fieldEncryption,
    serviceAccountTokens,
    identityDirectory,
    upstreamCore,
    accessTokens: new AccessTokenVerifier({ issuer }),
    userChangeFeed: new KeycloakUserChangeFeed({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: serviceAccountTokens }),
    partnerClients: new KeycloakPartnerClients({
      keycloakUrl: config.keycloakUrl,
      realm: config.realm,
      tokens: serviceAccountTokens,
      audience: config.clientId,
    }),
    partners,
    mailer,
    smsGateway,
    accounts,
    notices: new IdentifierChangeNotices({ mailer, sms: smsGateway, directory: identityDirectory, logger: logger.child({ component: 'identifier-notices' }) }),
    outbox: new OutboxStore({ em: orm.em, encryption: fieldEncryption }),
    invitations: new Invitations({
      em: orm.em,
      encryption: fieldEncryption,
      hashKey: config.otpHashKey,
      directory: identityDirectory,
      accounts,
      upstream: upstreamCore,
      mailer,
      sms: smsGateway,
      logger: logger.child({ component: 'invitations' }),
      settings: { ttlHours: config.invitationTtlHours, publicUrl: config.publicUrl, defaultPhoneCountry: config.defaultPhoneCountry },
    }),
    roleFeedCursor: new RoleFeedCursor({ em: orm.em }),
    objectStorage,
    pictureStore,
    async close() {
      mailer.close();
      await orm.close();
    },
  };
}

async function buildInfrastructure(config: Config, logger: Logger): Promise<Infrastructure> {
  const core = await buildCore(config, logger);
  const redis = await connectRedis(config.redisUrl, { connectionName: 'bff' }).catch(async (err: unknown) => {
    await core.close();
    throw err;
  });
  const ephemeralStore = new RedisEphemeralStore({ redis, keyPrefix: config.redisPrefix });
  return {
    ...core,
    redis,
    ephemeralStore,
    otp: new OtpService({
      store: ephemeralStore,
      mailer: core.mailer,
      sms: core.smsGateway,
      settings: {
        hashKey: config.otpHashKey,
        ttlSeconds: config.otpTtlSeconds,
        maxAttempts: config.otpMaxAttempts,
        failureWindowSeconds: config.otpFailureWindowSeconds,
        resendCooldownSeconds: config.otpResendCooldownSeconds,
        perIdentifierPerHour: config.otpPerIdentifierPerHour,
        perIdentifierPerDay: config.otpPerIdentifierPerDay,
        sendsPerIpPerHour: config.otpSendsPerIpPerHour,
        verifiesPerIpPerHour: config.otpVerifiesPerIpPerHour,
        proofTtlSeconds: config.otpProofTtlSeconds,
      },
    }),
    limiter: new RateLimiter({ store: ephemeralStore, hashKey: config.otpHashKey }),
    background: new BackgroundTasks({ logger: logger.child({ component: 'background' }) }),
    flowRuntime: new FlowRuntime({ store: new PostgresFlowStore(core.em), encryption: core.fieldEncryption }),
    // Partner enrollment's records keep the names authToken records always had (tokens issued before stay usable).
    ephemeralFlowStore: new RedisFlowStore({ store: ephemeralStore, keys: { [PARTNER_ENROLLMENT_KIND]: AUTH_TOKEN_KEYS } }),
    userApiTokens: new KeycloakUserTokens({
      issuer: `${config.keycloakUrl}/realms/${config.realm}`,
      clientId: config.userApiClientId,
      clientSecret: config.userApiClientSecret,
    }),
    partnerUserTokens: new AssertionUserTokens({
      keycloakUrl: config.keycloakUrl,
      realm: config.realm,
      clientId: config.partnerUserTokenClientId,
      clientSecret: config.partnerUserTokenClientSecret,
      privateKey: config.partnerAssertionKey,
      keyId: config.partnerAssertionKeyId,
      serviceAccountTokens: core.serviceAccountTokens,
    }),
    googleIdTokens: googleIdTokenVerifier(config),
    federatedAccounts: new KeycloakFederatedAccounts({
      keycloakUrl: config.keycloakUrl,
      realm: config.realm,
      clientId: config.googleNativeClientId,
      clientSecret: config.googleNativeClientSecret,
      serviceAccountTokens: core.serviceAccountTokens,
    }),
    async close() {
      redis.disconnect();
      await core.close();
    },
  };
}

/** Google's id_tokens, or the `google-demo` stand-in realm's when no issuer is configured (dev, tests). */
function googleIdTokenVerifier(config: Config): GoogleIdTokenVerifier {
  const issuer = config.googleIdTokenIssuer ?? `${config.keycloakUrl}/realms/google-demo`;
  const google = issuer === 'https://accounts.google.com';
  const jwksUrl = config.googleIdTokenJwksUrl ?? (google ? 'https://www.googleapis.com/oauth2/v3/certs' : `${issuer}/protocol/openid-connect/certs`);
  return new GoogleIdTokenVerifier({ issuer, jwksUrl, audiences: config.googleIdTokenAudiences });
}

/** An expired flow or handoff is kept this long, so a person who comes back is told "expired", not "not found". */
const EXPIRED_KEPT_MS = 24 * 3600_000;

/** Users with a picture whose account is looked up per sweep pass (one Keycloak read each). */
const PICTURE_SWEEP_BATCH = 100;

/** The retention sweep (decision 0015): what each store keeps past its use, in the order it must go. */
export function retentionSweep(
  config: Pick<Config, 'retentionSweepIntervalMs' | 'upstreamOutboxRetentionDays'>,
  logger: Logger,
  deps: {
    flowRuntime: FlowRuntime;
    handoffs: HandoffStore;
    outbox: OutboxStore;
    resealUsernames: () => Promise<number>;
    pictures?: { sweepDeleted: Pictures['sweepDeleted']; purgeFinishedJobs: PictureStore['purgeFinishedJobs'] };
  },
): RetentionSweep {
  const ago = (now: Date, ms: number) => new Date(now.getTime() - ms);
  return new RetentionSweep({
    intervalMs: config.retentionSweepIntervalMs,
    logger: logger.child({ component: 'retention' }),
    tasks: [
      // Handoffs first: they are kept while their flow lives.
      { name: 'identifier_handoff', run: (now) => deps.handoffs.purgeStale(ago(now, EXPIRED_KEPT_MS)) },
      { name: 'flow', run: (now) => deps.flowRuntime.purgeExpired(ago(now, EXPIRED_KEPT_MS)) },
      { name: 'upstream_outbox', run: (now) => deps.outbox.pruneDelivered(ago(now, config.upstreamOutboxRetentionDays * 24 * 3600_000)) },
      // Not a delete: seals usernames left in clear by an older version or sealed with a retired key (decision 0022).
      { name: 'account_creation_reseal', run: () => deps.resealUsernames() },
      ...(deps.pictures ? pictureTasks(deps.pictures, (now) => ago(now, EXPIRED_KEPT_MS)) : []),
    ],
  });
}

/** Pictures of accounts deleted outside the BFF (Keycloak's consoles) or while the object store was down; ended jobs (decision 0038). */
function pictureTasks(
  pictures: { sweepDeleted: Pictures['sweepDeleted']; purgeFinishedJobs: PictureStore['purgeFinishedJobs'] },
  keptUntil: (now: Date) => Date,
): RetentionTask[] {
  return [
    { name: 'picture_of_deleted_account', run: () => pictures.sweepDeleted(PICTURE_SWEEP_BATCH) },
    { name: 'picture_job', run: (now) => pictures.purgeFinishedJobs(keptUntil(now)) },
  ];
}
