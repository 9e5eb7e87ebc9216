import type Koa from 'koa';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { AccountService } from './accounts/account-service.ts';
import { PlatformAccountService } from './accounts/platform-account-service.ts';
import { KeycloakIdentityDirectory } from './adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from './adapters/keycloak/service-account-tokens.ts';
import { SmtpMailer } from './adapters/mail/smtp-mailer.ts';
import { connectRedis } from './adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from './adapters/redis/redis-ephemeral-store.ts';
import { HttpSmsGateway } from './adapters/sms/http-sms-gateway.ts';
import { HttpUpstreamCore } from './adapters/upstream-core/http-upstream-core.ts';
import { createApp } from './http/app.ts';
import { loadOpenApi } from './http/openapi.ts';
import { FlowRuntime } from './kernel/flow/index.ts';
import { createLogger, type Logger } from './kernel/logger.ts';
import { createOrm, type Orm } from './persistence/orm.ts';
import { requestContext } from './persistence/request-context.ts';
import type { EphemeralStore } from './ports/ephemeral-store.ts';
import type { IdentityDirectory } from './ports/identity-directory.ts';
import type { Mailer, SmsGateway } from './ports/messaging.ts';
import { OtpService } from './otp/otp-service.ts';
import type { UpstreamCore } from './ports/upstream-core.ts';

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
  /** Accounts across Keycloak, the upstream core and the BFF store (create / provision / delete). */
  accounts: AccountService;
  /** Outgoing mail (SMTP) and SMS (HTTP gateway); both throw DELIVERY_FAILED. */
  mailer: Mailer;
  smsGateway: SmsGateway;
  /** One-time codes and the verification proofs they are exchanged for (also `VerificationProofs`). */
  otp: OtpService;
  flowRuntime: FlowRuntime;
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
  const flowRuntime = new FlowRuntime({ em: orm.em });
  const accounts = new PlatformAccountService({
    directory: identityDirectory,
    upstream: upstreamCore,
    em: orm.em,
    logger: logger.child({ component: 'accounts' }),
  });
  const mailer = new SmtpMailer({ host: config.smtpHost, port: config.smtpPort, from: config.smtpFrom, user: config.smtpUser, password: config.smtpPassword });
  const smsGateway = new HttpSmsGateway({ url: config.smsGatewayUrl, token: config.smsGatewayToken });
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
    unitOfWork: requestContext(orm.em),
    routers: [],
  });

  return {
    config,
    logger,
    orm,
    redis,
    ephemeralStore,
    identityDirectory,
    serviceAccountTokens,
    upstreamCore,
    accounts,
    mailer,
    smsGateway,
    otp,
    flowRuntime,
    app,
    async close() {
      mailer.close();
      redis.disconnect();
      await orm.close();
    },
  };
}
