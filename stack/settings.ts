/**
 * Settings of the local stack (`npm start`, and the test stack with other ports). Every port and URL
 * can be changed by the environment variable named next to it; the defaults are for a laptop.
 * Secrets here are development defaults: the BFF refuses them when NODE_ENV=production.
 */
export interface StackSettings {
  name: string;
  keycloakPort: number; // KEYCLOAK_PORT
  keycloakManagementPort: number; // KEYCLOAK_MANAGEMENT_PORT
  keycloakPublicUrl: string; // KEYCLOAK_PUBLIC_URL
  keycloakAdminUser: string; // KEYCLOAK_ADMIN_USER
  keycloakAdminPassword: string; // KEYCLOAK_ADMIN_PASSWORD
  keycloakDatabaseUrl: string; // KEYCLOAK_DATABASE_URL
  platformRealm: string; // PLATFORM_REALM
  bffPort: number; // BFF_PORT
  bffPublicUrl: string; // BFF_PUBLIC_URL
  bffDatabaseUrl: string; // BFF_DATABASE_URL
  bffClientSecret: string; // BFF_CLIENT_SECRET
  keycloakCallbackSecret: string; // KEYCLOAK_CALLBACK_SECRET (Keycloak's platform-bff-check -> BFF)
  userApiClientSecret: string; // USER_API_CLIENT_SECRET
  redisUrl: string; // REDIS_URL
  redisPrefix: string; // REDIS_PREFIX
  upstreamPort: number; // UPSTREAM_PORT
  upstreamDatabaseUrl: string; // UPSTREAM_DATABASE_URL
  upstreamApiKey: string; // UPSTREAM_API_KEY
  smtpPort: number; // SMTP_PORT
  inboxPort: number; // INBOX_PORT (dev inbox web page + SMS sink)
  stateDemoIdpClientSecret: string; // STATE_DEMO_IDP_CLIENT_SECRET
  googleDemoClientSecret: string; // GOOGLE_DEMO_CLIENT_SECRET
  demoPartnerClientSecret: string; // DEMO_PARTNER_CLIENT_SECRET
  demoUserPassword: string; // DEMO_USER_PASSWORD
  partnerDemoPort: number; // PARTNER_DEMO_PORT (the demo partner's page, stack/partner-demo)
  /** Absent in a stack file written before profile pictures: the BFF then keeps its S3 defaults. */
  s3Port?: number; // S3_PORT (the dev object store, s3rver; decision 0038)
  s3Bucket?: string; // S3_BUCKET
}

const num = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${raw}"`);
  return n;
};
const str = (env: NodeJS.ProcessEnv, name: string, fallback: string): string => env[name] || fallback;

export function devSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const keycloakPort = num(env, 'KEYCLOAK_PORT', 8080);
  const bffPort = num(env, 'BFF_PORT', 3000);
  return {
    name: 'dev',
    keycloakPort,
    keycloakManagementPort: num(env, 'KEYCLOAK_MANAGEMENT_PORT', 9000),
    keycloakPublicUrl: str(env, 'KEYCLOAK_PUBLIC_URL', `http://localhost:${keycloakPort}`),
    keycloakAdminUser: str(env, 'KEYCLOAK_ADMIN_USER', 'admin'),
    keycloakAdminPassword: str(env, 'KEYCLOAK_ADMIN_PASSWORD', 'admin'),
    keycloakDatabaseUrl: str(env, 'KEYCLOAK_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/platform_keycloak'),
    platformRealm: str(env, 'PLATFORM_REALM', 'platform'),
    bffPort,
    bffPublicUrl: str(env, 'BFF_PUBLIC_URL', `http://localhost:${bffPort}`),
    bffDatabaseUrl: str(env, 'BFF_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/platform_bff'),
    bffClientSecret: str(env, 'BFF_CLIENT_SECRET', 'dev-bff-secret-change-me'),
    keycloakCallbackSecret: str(env, 'KEYCLOAK_CALLBACK_SECRET', 'dev-keycloak-callback-secret'),
    userApiClientSecret: str(env, 'USER_API_CLIENT_SECRET', 'dev-user-api-secret-change-me'),
    redisUrl: str(env, 'REDIS_URL', 'redis://127.0.0.1:6379'),
    redisPrefix: str(env, 'REDIS_PREFIX', 'platform:dev:'),
    upstreamPort: num(env, 'UPSTREAM_PORT', 4010),
    upstreamDatabaseUrl: str(env, 'UPSTREAM_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/platform_upstream'),
    upstreamApiKey: str(env, 'UPSTREAM_API_KEY', 'dev-upstream-api-key'),
    smtpPort: num(env, 'SMTP_PORT', 2525),
    inboxPort: num(env, 'INBOX_PORT', 8025),
    stateDemoIdpClientSecret: str(env, 'STATE_DEMO_IDP_CLIENT_SECRET', 'dev-state-demo-idp-secret'),
    googleDemoClientSecret: str(env, 'GOOGLE_DEMO_CLIENT_SECRET', 'dev-google-demo-secret'),
    demoPartnerClientSecret: str(env, 'DEMO_PARTNER_CLIENT_SECRET', 'dev-demo-bank-secret'),
    demoUserPassword: str(env, 'DEMO_USER_PASSWORD', 'Demo#Pass2026'),
    partnerDemoPort: num(env, 'PARTNER_DEMO_PORT', 3100),
    s3Port: num(env, 'S3_PORT', 4568),
    s3Bucket: str(env, 'S3_BUCKET', 'platform-pictures'),
  };
}

/** Variables the realm files' placeholders use, derived from the stack settings. */
export function realmEnv(s: StackSettings, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const googleConfigured = Boolean(env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET);
  return {
    ...env,
    PLATFORM_REALM: s.platformRealm,
    KEYCLOAK_PUBLIC_URL: s.keycloakPublicUrl,
    STATE_DEMO_IDP_URL: env.STATE_DEMO_IDP_URL || `${s.keycloakPublicUrl}/realms/state-demo-idp`,
    PORTAL_URL: env.PORTAL_URL || `${s.bffPublicUrl}/portal`,
    BFF_PUBLIC_URL: s.bffPublicUrl,
    BFF_CLIENT_SECRET: s.bffClientSecret,
    USER_API_CLIENT_SECRET: s.userApiClientSecret,
    STATE_DEMO_IDP_CLIENT_SECRET: s.stateDemoIdpClientSecret,
    GOOGLE_DEMO_CLIENT_SECRET: s.googleDemoClientSecret,
    DEMO_PARTNER_CLIENT_SECRET: s.demoPartnerClientSecret,
    DEMO_USER_PASSWORD: s.demoUserPassword,
    GOOGLE_IDP_ENABLED: String(googleConfigured),
    SMTP_HOST: env.SMTP_HOST || '127.0.0.1',
    SMTP_PORT: String(s.smtpPort),
  };
}
