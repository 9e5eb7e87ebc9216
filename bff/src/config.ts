import { z } from 'zod';

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
  publicUrl: { env: 'BFF_PUBLIC_URL', schema: url.default('http://localhost:3000'), doc: 'URL browsers and partners use to reach the BFF' },
  databaseUrl: { env: 'BFF_DATABASE_URL', schema: url.default('postgres://postgres@127.0.0.1:5432/platform_bff'), doc: 'PostgreSQL database of the BFF (flows, mappings, handoffs)' },
  redisUrl: { env: 'REDIS_URL', schema: url.default('redis://127.0.0.1:6379'), doc: 'Redis for short-lived data (OTPs, counters, tokens)' },
  redisPrefix: { env: 'REDIS_PREFIX', schema: z.string().min(1).default('platform:dev:'), doc: 'prefix of every Redis key the BFF writes' },
  keycloakUrl: { env: 'KEYCLOAK_URL', schema: url.default('http://localhost:8080'), doc: "Keycloak's base URL (also the token issuer's base: keep it the public one)" },
  realm: { env: 'PLATFORM_REALM', schema: z.string().min(1).default('platform'), doc: 'realm of the platform' },
  clientId: { env: 'BFF_CLIENT_ID', schema: z.string().min(1).default('bff'), doc: "the BFF's confidential client in the platform realm" },
  clientSecret: { env: 'BFF_CLIENT_SECRET', schema: z.string().min(8).default('dev-bff-secret-change-me'), doc: "that client's secret", devDefault: true },
  upstreamUrl: { env: 'UPSTREAM_URL', schema: url.default('http://127.0.0.1:4010'), doc: 'base URL of the upstream core system' },
  upstreamApiKey: { env: 'UPSTREAM_API_KEY', schema: z.string().min(8).default('dev-upstream-api-key'), doc: 'API key for the upstream core', devDefault: true },
  upstreamTimeoutMs: { env: 'UPSTREAM_TIMEOUT_MS', schema: ms.default(3000), doc: 'timeout of one upstream call' },
  upstreamRetries: { env: 'UPSTREAM_RETRIES', schema: z.coerce.number().int().min(0).max(5).default(2), doc: 'retries of idempotent upstream calls' },
  readinessTimeoutMs: { env: 'READINESS_TIMEOUT_MS', schema: ms.default(2000), doc: 'timeout of each /readyz dependency check' },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', schema: ms.default(10_000), doc: 'how long in-flight requests may finish on SIGTERM' },
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
  if (problems.length === 0 && config.nodeEnv === 'production') {
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
