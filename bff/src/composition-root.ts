import type Koa from 'koa';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { AccountService } from './accounts/account-service.ts';
import { PlatformAccountService } from './accounts/platform-account-service.ts';
import { AccountCreationSeal } from './accounts/account-creation-seal.ts';
import { AccessTokenVerifier } from './adapters/keycloak/access-token-verifier.ts';
import { AssertionUserTokens, PARTNER_API_AUDIENCE } from './adapters/keycloak/assertion-user-tokens.ts';
import { KeycloakIdentityDirectory } from './adapters/keycloak/keycloak-identity-directory.ts';
import { KeycloakPartnerClients } from './adapters/keycloak/keycloak-partner-clients.ts';
import { KeycloakUserTokens } from './adapters/keycloak/keycloak-user-tokens.ts';
import { ServiceAccountTokens } from './adapters/keycloak/service-account-tokens.ts';
import { SmtpMailer } from './adapters/mail/smtp-mailer.ts';
import { connectRedis } from './adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from './adapters/redis/redis-ephemeral-store.ts';
import { RedisFlowStore } from './adapters/redis/redis-flow-store.ts';
import { HttpSmsGateway } from './adapters/sms/http-sms-gateway.ts';
import { HttpUpstreamCore } from './adapters/upstream-core/http-upstream-core.ts';
import { brokeredLoginRouter } from './flows/brokered-login/routes.ts';
import { upstreamLoginRouter } from './flows/upstream-login/routes.ts';
import { partnerAdmin, type PartnerAdmin } from './admin/partners/use-cases.ts';
import { partnerAdminRouter } from './admin/partners/routes.ts';
import { partnerEnrollmentActors } from './flows/partner-enrollment/effects.ts';
import { enrollUser } from './flows/partner-enrollment/enroll-user.ts';
import { AUTH_TOKEN_KEYS, PartnerEnrollmentService } from './flows/partner-enrollment/enrollment-service.ts';
import { IdempotencyKeys } from './flows/partner-enrollment/idempotency.ts';
import { KbaStartLimits, PgKbaStartAudit } from './flows/partner-enrollment/kba-starts.ts';
import { PARTNER_ENROLLMENT_KIND, partnerEnrollmentMachine } from './flows/partner-enrollment/partner-enrollment.machine.ts';
import { partnerEnrollmentRouter } from './flows/partner-enrollment/routes.ts';
import { partnerUserApiRouter } from './flows/partner-user-api/routes.ts';
import { signUpAssets, signUpPagesRouter } from './flows/sign-up/pages.ts';
import { StateClaimAudit } from './flows/state-claim/audit.ts';
import { IdentifierSeal, stateClaimActors } from './flows/state-claim/effects.ts';
import { HandoffStore } from './flows/state-claim/handoffs.ts';
import { stateClaimAssets, stateClaimRouters } from './flows/state-claim/routes.ts';
import { StateClaimService } from './flows/state-claim/service.ts';
import { STATE_CLAIM_KIND, STATE_CLAIM_MACHINE_VERSION, stateClaimMachine } from './flows/state-claim/state-claim.machine.ts';
import { ConfirmationLinks } from './flows/user-management/confirmation-links.ts';
import { userManagementRouter } from './flows/user-management/routes.ts';
import { memberAdmin, type MemberAdmin } from './admin/members/use-cases.ts';
import { memberAdminRouter } from './admin/members/routes.ts';
import { KeycloakUserChangeFeed } from './adapters/keycloak/keycloak-user-change-feed.ts';
import { IdentifierChangeNotices } from './accounts/identifier-change-notices.ts';
import { CUSTODIAN_TENANT } from './accounts/tenants.ts';
import { OutboxStore, registerOutboxMetrics } from './upstream-sync/outbox-store.ts';
import { UpstreamSync } from './upstream-sync/upstream-sync.ts';
import { createApp } from './http/app.ts';
import { loadOpenApi } from './http/openapi.ts';
import { pageAssets } from './http/pages.ts';
import { staticAssets } from './http/static-assets.ts';
import { loadPortalBuild, portalRouter } from './portal/portal.ts';
import { FieldEncryption, parseKeyRing } from './kernel/crypto/field-encryption.ts';
import { FlowRuntime, PostgresFlowStore, defineFlow } from './kernel/flow/index.ts';
import { createLogger, type Logger } from './kernel/logger.ts';
import { PartnerStore } from './partners/partner-store.ts';
import { createOrm, type Orm } from './persistence/orm.ts';
import type { EphemeralStore } from './ports/ephemeral-store.ts';
import type { IdentityDirectory } from './ports/identity-directory.ts';
import type { Mailer, SmsGateway } from './ports/messaging.ts';
import { OtpService } from './otp/otp-service.ts';
import { signUpApiRouter } from './flows/sign-up/routes.ts';
import { otpRouter } from './otp/routes.ts';
import type { UpstreamCore } from './ports/upstream-core.ts';
import { RetentionSweep } from './retention/retention-sweep.ts';
import { passwordFailuresPerIp, RateLimiter } from './rate-limits/rate-limiter.ts';
import { BackgroundTasks } from './kernel/background-tasks.ts';
import { AddressSet } from './kernel/ip-ranges.ts';
import { userManagementLimits } from './flows/user-management/limits.ts';
import { signUpLimits } from './flows/sign-up/limits.ts';

/**
 * The composition root: the only place that constructs adapters and hands each consumer the few
 * dependencies it declares. Flows get their effects here (`machine.provide(...)`) as they land.
 */
export interface Container {
  config: Config;
  logger: Logger;
  orm: Orm;
  redis: Redis;
  ephemeralStore: EphemeralStore;
  identityDirectory: IdentityDirectory;
  serviceAccountTokens: ServiceAccountTokens;
  upstreamCore: UpstreamCore;
  /** Verifies access tokens of the platform realm (signature, issuer, expiry, audience). */
  accessTokenVerifier: AccessTokenVerifier;
  /** Accounts across Keycloak, the upstream core and the BFF store (create / provision / delete). */
  accounts: AccountService;
  /** Outgoing mail (SMTP) and SMS (HTTP gateway); both throw DELIVERY_FAILED. */
  mailer: Mailer;
  smsGateway: SmsGateway;
  /** One-time codes and the verification proofs they are exchanged for (also `VerificationProofs`). */
  otp: OtpService;
  flowRuntime: FlowRuntime;
  /** Authenticated encryption of values at rest (key ring from FIELD_ENCRYPTION_KEYS). */
  fieldEncryption: FieldEncryption;
  /** Partner (DBP) administration: the admin API and `npm run partner` use the same use cases. */
  partnerAdmin: PartnerAdmin;
  /** Conversion of prospective members and the upstream outbox view (admin API and `npm run members`). */
  memberAdmin: MemberAdmin;
  /** Keycloak -> upstream core outbox (recorder + deliverer); started when UPSTREAM_OUTBOX_ENABLED. */
  upstreamSync: UpstreamSync;
  /** Work requests start and do not wait for (registrations); `close()` drains it, tests `idle()` on it. */
  background: BackgroundTasks;
  app: Koa;
  close(): Promise<void>;
}

export async function buildContainer(config: Config, opts: { logger?: Logger } = {}): Promise<Container> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  const redis = await connectRedis(config.redisUrl, { connectionName: 'bff' }).catch(async (err: unknown) => {
    await orm.close();
    throw err;
  });
  const ephemeralStore = new RedisEphemeralStore({ redis, keyPrefix: config.redisPrefix });
  const { serviceAccountTokens, identityDirectory, upstreamCore } = keycloakAndUpstream(config, logger);
  const accessTokenVerifier = new AccessTokenVerifier({ issuer: `${config.keycloakUrl}/realms/${config.realm}` });
  const fieldEncryption = new FieldEncryption(parseKeyRing(config.fieldEncryptionKeys, config.fieldEncryptionActiveKey));
  const flowRuntime = new FlowRuntime({ store: new PostgresFlowStore(orm.em), encryption: fieldEncryption });
  const partners = partnerComponents(config, { orm, serviceAccountTokens });
  const mailer = new SmtpMailer({ host: config.smtpHost, port: config.smtpPort, from: config.smtpFrom, user: config.smtpUser, password: config.smtpPassword });
  const smsGateway = new HttpSmsGateway({ url: config.smsGatewayUrl, token: config.smsGatewayToken });
  const accounts = new PlatformAccountService({
    directory: identityDirectory,
    upstream: upstreamCore,
    em: orm.em,
    logger: logger.child({ component: 'accounts' }),
    forgetUser: (userId) => partners.store.forgetUser(userId),
    identifierHashKey: config.otpHashKey,
    encryption: fieldEncryption,
    messages: { mailer, sms: smsGateway },
  });
  const otp = new OtpService({
    store: ephemeralStore,
    mailer,
    sms: smsGateway,
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
  });

  // Per-IP and per-identifier limits of the credential and message routes (decision 0019), in Redis.
  const limiter = new RateLimiter({ store: ephemeralStore, hashKey: config.otpHashKey });
  const background = new BackgroundTasks({ logger: logger.child({ component: 'background' }) });

  const partnerUserTokens = new AssertionUserTokens({
    keycloakUrl: config.keycloakUrl,
    realm: config.realm,
    clientId: config.partnerUserTokenClientId,
    clientSecret: config.partnerUserTokenClientSecret,
    privateKey: config.partnerAssertionKey,
    keyId: config.partnerAssertionKeyId,
    serviceAccountTokens,
  });
  const partnerEnrollment = partnerEnrollmentRouter({
    service: new PartnerEnrollmentService({
      // Its flows live in Redis and expire with their authTokens. A step may wait for a concurrent
      // enrollment of the same DBP user (up to 25 s), so it may take longer than the default.
      runtime: new FlowRuntime({
        store: new RedisFlowStore({ store: ephemeralStore, keys: { [PARTNER_ENROLLMENT_KIND]: AUTH_TOKEN_KEYS } }),
        encryption: fieldEncryption,
        settleTimeoutMs: 30_000,
      }),
      machine: partnerEnrollmentMachine.provide({
        actors: partnerEnrollmentActors({
          enrollUser: enrollUser({ accounts, partners: partners.store, userTokens: partnerUserTokens, locks: ephemeralStore, encryption: fieldEncryption }),
          userTokens: partnerUserTokens,
          upstream: upstreamCore,
          encryption: fieldEncryption,
        }),
      }),
      partners: partners.store,
      encryption: fieldEncryption,
      ttlSeconds: config.partnerAuthTokenTtlSeconds,
      kbaMaxAttempts: config.partnerKbaMaxAttempts,
      kbaMaxStarts: config.partnerKbaStartsPerToken,
      kbaStarts: new KbaStartLimits({ store: ephemeralStore, audit: new PgKbaStartAudit({ em: orm.em }), perClientPerHour: config.partnerKbaStartsPerClientPerHour }),
    }),
    idempotency: new IdempotencyKeys({ store: ephemeralStore, encryption: fieldEncryption, ttlSeconds: config.partnerAuthTokenTtlSeconds, hashKey: config.otpHashKey }),
    accessTokens: accessTokenVerifier,
    audience: config.clientId,
  });

  const partnerUserApi = partnerUserApiRouter({
    accessTokens: accessTokenVerifier,
    directory: identityDirectory,
    partners: partners.store,
    audience: PARTNER_API_AUDIENCE,
    userTokenClientId: config.partnerUserTokenClientId,
  });

  // The `user-api` client's password grant: user-management sign-in and the state claim's password check.
  const userApiTokens = new KeycloakUserTokens({
    issuer: `${config.keycloakUrl}/realms/${config.realm}`,
    clientId: config.userApiClientId,
    clientSecret: config.userApiClientSecret,
  });
  // Previous e-mail addresses and phone numbers are told of a change (decision 0020).
  const identifierNotices = new IdentifierChangeNotices({ mailer, sms: smsGateway, directory: identityDirectory, logger: logger.child({ component: 'identifier-notices' }) });
  const userManagement = userManagementRouter({
    accounts,
    notices: identifierNotices,
    directory: identityDirectory,
    tokens: userApiTokens,
    accessTokens: accessTokenVerifier,
    proofs: otp,
    store: ephemeralStore,
    hashKey: config.otpHashKey,
    links: new ConfirmationLinks({
      store: ephemeralStore,
      mailer,
      encryption: fieldEncryption,
      hashKey: config.otpHashKey,
      settings: {
        publicUrl: config.publicUrl,
        ttlSeconds: config.emailConfirmationTtlSeconds,
        cooldownSeconds: config.emailConfirmationCooldownSeconds,
        mailsPerHour: config.emailConfirmationMailsPerHour,
        requestsPerIpPerHour: config.emailConfirmationRequestsPerIpPerHour,
      },
    }),
    mailer,
    background,
    limits: userManagementLimits(limiter, {
      registerPerIpPerHour: config.registerRequestsPerIpPerHour,
      registerPerEmailPerHour: config.registerRequestsPerEmailPerHour,
      loginFailuresPerIpPerHour: config.loginFailuresPerIpPerHour,
      loginFailuresPerEmailAndIpPerHour: config.loginFailuresPerEmailAndIpPerHour,
      confirmFailuresPerIpPerHour: config.confirmFailuresPerIpPerHour,
      refreshFailuresPerIpPerHour: config.refreshFailuresPerIpPerHour,
    }),
    signInUrl: new URL('/portal/', config.publicUrl).href,
    logger: logger.child({ component: 'user-management' }),
    bearer: { audience: config.clientId, clients: config.userApiTokenClients },
    defaultPhoneCountry: config.defaultPhoneCountry,
  });

  // Custodian-to-state claim (docs/decisions/0011-state-claim.md).
  const claimSeal = new IdentifierSeal(fieldEncryption);
  const stateClaimAudit = new StateClaimAudit({ em: orm.em, hashKey: config.otpHashKey });
  const handoffs = new HandoffStore({ em: orm.em, encryption: fieldEncryption, ttlSeconds: config.stateClaimHandoffTtlSeconds });
  const stateClaim = stateClaimRouters({
    service: new StateClaimService({
      runtime: flowRuntime,
      flow: defineFlow({
        kind: STATE_CLAIM_KIND,
        machineVersion: STATE_CLAIM_MACHINE_VERSION,
        ttlSeconds: config.stateClaimTtlSeconds,
        machine: stateClaimMachine.provide({
          actors: stateClaimActors({
            seal: claimSeal,
            otp,
            directory: identityDirectory,
            userTokens: userApiTokens,
            upstream: upstreamCore,
            accounts,
            deletedAccounts: new KeycloakUserChangeFeed({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: serviceAccountTokens }),
          }),
        }),
      }),
      handoffs,
      audit: stateClaimAudit,
      seal: claimSeal,
      locks: ephemeralStore,
      tenants: config.stateClaimTenants,
    }),
    audit: stateClaimAudit,
    seal: claimSeal,
    callbackSecret: config.keycloakCallbackSecret,
    publicUrl: config.publicUrl,
    defaultPhoneCountry: config.defaultPhoneCountry,
    passwordLimits: { limiter, limits: [passwordFailuresPerIp(config.loginFailuresPerIpPerHour)] },
    accessTokens: accessTokenVerifier,
    audience: config.clientId,
    directory: identityDirectory,
  });
  const members = memberComponents(config, { orm, serviceAccountTokens, identityDirectory, upstreamCore, accounts, fieldEncryption, logger, notices: identifierNotices });

  const portal = loadPortalBuild();
  if (!portal) logger.warn('the portal is not built (node portal/build.ts): /portal/ answers 503');

  const app = createApp({
    logger,
    readinessTimeoutMs: config.readinessTimeoutMs,
    readiness: [
      { name: 'keycloak', check: () => identityDirectory.ping() },
      {
        name: 'postgres',
        // A real round trip: MikroORM 7 connects lazily, so checkConnection() alone says nothing.
        check: async () => {
          await orm.em.getConnection().execute('select 1');
        },
      },
      { name: 'redis', check: () => ephemeralStore.ping() },
      { name: 'upstream', check: () => upstreamCore.ping() },
    ],
    openApi: loadOpenApi(),
    routers: [
      signUpPagesRouter({ keycloakUrl: config.keycloakUrl, realm: config.realm }),
      portalRouter({
        keycloakUrl: config.keycloakUrl,
        realm: config.realm,
        clientId: config.portalClientId,
        stateIdp: config.portalStateIdp,
        googleIdp: config.portalGoogleIdp,
        build: portal,
        frameOriginsOf: (clientId) => partners.store.frameOriginsOf(clientId),
      }),
      otpRouter({ otp, defaultPhoneCountry: config.defaultPhoneCountry }),
      signUpApiRouter({
        proofs: otp,
        accounts,
        limits: signUpLimits(limiter, { perIpPerHour: config.signUpRequestsPerIpPerHour, perIdentifierPerHour: config.signUpRequestsPerIdentifierPerHour }),
        defaultPhoneCountry: config.defaultPhoneCountry,
      }),
      userManagement,
      partnerEnrollment,
      partnerUserApi,
      partnerAdminRouter({ admin: partners.admin, accessTokens: accessTokenVerifier, audience: config.clientId, directory: identityDirectory }),
      memberAdminRouter({ admin: members.admin, accessTokens: accessTokenVerifier, audience: config.clientId, directory: identityDirectory }),
      brokeredLoginRouter({
        callbackSecret: config.keycloakCallbackSecret,
        directory: identityDirectory,
        upstream: upstreamCore,
        accounts,
        defaultTenant: CUSTODIAN_TENANT,
      }),
      ...stateClaim,
      upstreamLoginRouter({
        callbackSecret: config.keycloakCallbackSecret,
        directory: identityDirectory,
        upstream: upstreamCore,
        deletedAccounts: new KeycloakUserChangeFeed({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: serviceAccountTokens }),
        defaultPhoneCountry: config.defaultPhoneCountry,
        tenant: CUSTODIAN_TENANT,
        failures: {
          store: ephemeralStore,
          hashKey: config.otpHashKey,
          maxFailures: config.upstreamLoginMaxFailures,
          windowSeconds: config.upstreamLoginFailureWindowSeconds,
        },
        logger: logger.child({ component: 'upstream-login' }),
      }),
    ],
    assets: staticAssets({ ...pageAssets, ...signUpAssets, ...stateClaimAssets, ...portal?.assets }),
    registerMetrics: (registry) => registerOutboxMetrics(registry, members.outbox),
    trustedProxies: new AddressSet(config.trustedProxies),
  });
  if (config.upstreamOutboxEnabled) members.sync.start();
  const creationSeal = new AccountCreationSeal({ encryption: fieldEncryption, hashKey: config.otpHashKey });
  const retention = retentionSweep(config, logger, { flowRuntime, handoffs, outbox: members.outbox, resealUsernames: () => creationSeal.resealStale(orm.em) });
  retention.start();

  return {
    config,
    logger,
    orm,
    redis,
    ephemeralStore,
    identityDirectory,
    serviceAccountTokens,
    upstreamCore,
    accessTokenVerifier,
    accounts,
    mailer,
    smsGateway,
    otp,
    flowRuntime,
    fieldEncryption,
    partnerAdmin: partners.admin,
    memberAdmin: members.admin,
    upstreamSync: members.sync,
    background,
    app,
    async close() {
      // Registrations under way finish (their mails go out) before the pools close.
      await background.idle();
      // The running outbox pass finishes (its transaction commits) before the pool closes.
      await members.sync.stop();
      await retention.stop();
      mailer.close();
      redis.disconnect();
      await orm.close();
    },
  };
}

/** Partner settings and administration; shared by the container and `npm run partner` (the CLI). */
function partnerComponents(config: Config, deps: { orm: Orm; serviceAccountTokens: ServiceAccountTokens }) {
  const store = new PartnerStore({ em: deps.orm.em, cacheMs: config.partnerCacheSeconds * 1000 });
  const clients = new KeycloakPartnerClients({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: deps.serviceAccountTokens, audience: config.clientId });
  return { store, admin: partnerAdmin({ store, clients, allowHttpFrameOrigins: config.partnerFrameOriginsAllowHttp }) };
}

/** What the partner CLI needs, without the HTTP app, Redis or the other flows. */
export async function buildPartnerAdmin(config: Config): Promise<{ admin: PartnerAdmin; close(): Promise<void> }> {
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  const serviceAccountTokens = new ServiceAccountTokens({
    issuer: `${config.keycloakUrl}/realms/${config.realm}`,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
  });
  return { admin: partnerComponents(config, { orm, serviceAccountTokens }).admin, close: () => orm.close() };
}

/** An expired flow or handoff is kept this long, so a person who comes back is told "expired", not "not found". */
const EXPIRED_KEPT_MS = 24 * 3600_000;

export function retentionSweep(
  config: Pick<Config, 'retentionSweepIntervalMs' | 'upstreamOutboxRetentionDays'>,
  logger: Logger,
  deps: { flowRuntime: FlowRuntime; handoffs: HandoffStore; outbox: OutboxStore; resealUsernames: () => Promise<number> },
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
    ],
  });
}

/** The upstream outbox and member administration; shared by the container and `npm run members` (the CLI). */
function memberComponents(
  config: Config,
  deps: {
    orm: Orm;
    serviceAccountTokens: ServiceAccountTokens;
    identityDirectory: IdentityDirectory;
    upstreamCore: UpstreamCore;
    accounts: AccountService;
    fieldEncryption: FieldEncryption;
    logger: Logger;
    /** Previous e-mail addresses of changes made in Keycloak's pages are told (the recorder reads those events). */
    notices?: IdentifierChangeNotices;
  },
) {
  const outbox = new OutboxStore({ em: deps.orm.em, encryption: deps.fieldEncryption });
  const sync = new UpstreamSync({
    feed: new KeycloakUserChangeFeed({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: deps.serviceAccountTokens }),
    directory: deps.identityDirectory,
    upstream: deps.upstreamCore,
    store: outbox,
    forgetDeleted: (userId) => deps.accounts.forgetDeleted(userId),
    ...(deps.notices ? { emailChanged: deps.notices.emailChangedInKeycloak.bind(deps.notices) } : {}),
    logger: deps.logger.child({ component: 'upstream-outbox' }),
    settings: {
      intervalMs: config.upstreamOutboxIntervalMs,
      maxAttempts: config.upstreamOutboxMaxAttempts,
      baseDelayMs: config.upstreamOutboxBaseDelayMs,
      maxDelayMs: config.upstreamOutboxMaxDelayMs,
      lookBackMs: 5_000,
      batchSize: 100,
    },
  });
  const admin = memberAdmin({
    directory: deps.identityDirectory,
    accounts: deps.accounts,
    outbox,
  });
  return { outbox, sync, admin };
}

/** What the members CLI needs (Keycloak, the upstream core, PostgreSQL), without the HTTP app or Redis. */
export async function buildMemberAdmin(config: Config): Promise<{ admin: MemberAdmin; close(): Promise<void> }> {
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  const { serviceAccountTokens, identityDirectory, upstreamCore } = keycloakAndUpstream(config, logger);
  const fieldEncryption = new FieldEncryption(parseKeyRing(config.fieldEncryptionKeys, config.fieldEncryptionActiveKey));
  const accounts = new PlatformAccountService({
    directory: identityDirectory,
    upstream: upstreamCore,
    em: orm.em,
    logger: logger.child({ component: 'accounts' }),
    identifierHashKey: config.otpHashKey,
    encryption: fieldEncryption,
  });
  const members = memberComponents(config, { orm, serviceAccountTokens, identityDirectory, upstreamCore, accounts, fieldEncryption, logger });
  return { admin: members.admin, close: () => orm.close() };
}

/** The BFF's own Keycloak service account, the Admin API adapter and the upstream core adapter. */
function keycloakAndUpstream(config: Config, logger: Logger) {
  const serviceAccountTokens = new ServiceAccountTokens({
    issuer: `${config.keycloakUrl}/realms/${config.realm}`,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
  });
  const identityDirectory = new KeycloakIdentityDirectory({ keycloakUrl: config.keycloakUrl, realm: config.realm, tokens: serviceAccountTokens });
  const upstreamCore = new HttpUpstreamCore({
    baseUrl: config.upstreamUrl,
    apiKey: config.upstreamApiKey,
    timeoutMs: config.upstreamTimeoutMs,
    retry: { maxAttempts: config.upstreamRetries + 1 },
    logger: logger.child({ component: 'upstream-core' }),
  });
  return { serviceAccountTokens, identityDirectory, upstreamCore };
}
