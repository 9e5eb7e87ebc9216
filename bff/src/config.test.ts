import { describe, expect, it } from 'vitest';
import { ConfigError, configDocs, loadConfig } from './config.ts';

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the environment');
}

const productionSecrets = {
  BFF_CLIENT_SECRET: 'a-real-client-secret',
  KEYCLOAK_CALLBACK_SECRET: 'a-real-keycloak-callback-secret',
  UPSTREAM_API_KEY: 'a-real-upstream-key',
  OTP_HASH_KEY: 'a-real-otp-hash-key-of-32-characters-or-more',
  FIELD_ENCRYPTION_KEYS: `prod1:${Buffer.alloc(32, 7).toString('base64')}`,
  FIELD_ENCRYPTION_ACTIVE_KEY: 'prod1',
  PARTNER_USER_TOKEN_CLIENT_SECRET: 'a-real-partner-user-tokens-secret',
  PARTNER_ASSERTION_PRIVATE_KEY: 'a-real-pkcs8-key',
  USER_API_CLIENT_SECRET: 'a-real-user-api-secret',
  GOOGLE_NATIVE_CLIENT_SECRET: 'a-real-google-native-secret',
  S3_ACCESS_KEY_ID: 'AKIAREALKEY',
  S3_SECRET_ACCESS_KEY: 'a-real-s3-secret',
};

describe('loadConfig', () => {
  it('gives development defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.nodeEnv).toBe('development');
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.keycloakUrl).toBe('http://localhost:8080');
    expect(c.realm).toBe('platform');
    expect(c.redisPrefix).toBe('platform:dev:');
    expect(c.upstreamRetries).toBe(2);
    expect(c.readinessTimeoutMs).toBe(2000);
    expect(c.clientSecret).toBe('dev-bff-secret-change-me');
  });

  it('coerces numbers and treats an empty variable as unset', () => {
    const c = loadConfig({ BFF_PORT: '8081', UPSTREAM_RETRIES: '0', READINESS_TIMEOUT_MS: '', LOG_LEVEL: 'warn' });
    expect(c.port).toBe(8081);
    expect(c.upstreamRetries).toBe(0);
    expect(c.readinessTimeoutMs).toBe(2000);
    expect(c.logLevel).toBe('warn');
  });

  it.each([
    ['BFF_PORT', 'not-a-port'],
    ['BFF_PORT', '70000'],
    ['KEYCLOAK_URL', 'localhost 8080'],
    ['UPSTREAM_RETRIES', '9'],
    ['UPSTREAM_TIMEOUT_MS', '-1'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['BFF_CLIENT_SECRET', 'short'],
  ])('refuses %s=%j with a ConfigError naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.message).toContain(`${name}:`);
    // Only the bad variable is reported.
    expect(err.message.match(/^ {2}[A-Z_]+:/gm)).toHaveLength(1);
  });

  it('reports every bad variable at once', () => {
    const err = configError({ BFF_PORT: 'x', REDIS_URL: 'nope' });
    expect(err.message).toContain('BFF_PORT:');
    expect(err.message).toContain('REDIS_URL:');
  });

  it('refuses to start in production on the public development secrets, naming each variable', () => {
    const err = configError({ NODE_ENV: 'production' });
    expect(err.message).toContain('BFF_CLIENT_SECRET');
    expect(err.message).toContain('UPSTREAM_API_KEY');

    const one = configError({ NODE_ENV: 'production', BFF_CLIENT_SECRET: productionSecrets.BFF_CLIENT_SECRET });
    expect(one.message).not.toContain('BFF_CLIENT_SECRET');
    expect(one.message).toContain('UPSTREAM_API_KEY');
  });

  it('refuses production secrets that are empty or equal to the development default', () => {
    expect(configError({ NODE_ENV: 'production', ...productionSecrets, BFF_CLIENT_SECRET: '' }).message).toContain('BFF_CLIENT_SECRET');
    expect(configError({ NODE_ENV: 'production', ...productionSecrets, UPSTREAM_API_KEY: 'dev-upstream-api-key' }).message).toContain('UPSTREAM_API_KEY');
    expect(configError({ NODE_ENV: 'production', ...productionSecrets, KEYCLOAK_CALLBACK_SECRET: 'dev-keycloak-callback-secret' }).message).toContain(
      'KEYCLOAK_CALLBACK_SECRET',
    );
  });

  it('refuses the development OTP hash key in production, and an unknown DEFAULT_PHONE_COUNTRY anywhere', () => {
    expect(configError({ NODE_ENV: 'production', ...productionSecrets, OTP_HASH_KEY: undefined }).message).toContain('OTP_HASH_KEY');
    expect(configError({ OTP_HASH_KEY: 'too-short' }).message).toContain('OTP_HASH_KEY');
    expect(configError({ DEFAULT_PHONE_COUNTRY: 'XX' }).message).toContain('DEFAULT_PHONE_COUNTRY');
    expect(loadConfig({ DEFAULT_PHONE_COUNTRY: 'GB' }).defaultPhoneCountry).toBe('GB');
  });

  it('starts in production when the secrets are set', () => {
    const c = loadConfig({ NODE_ENV: 'production', ...productionSecrets });
    expect(c.nodeEnv).toBe('production');
    expect(c.clientSecret).toBe(productionSecrets.BFF_CLIENT_SECRET);
    expect(c.upstreamApiKey).toBe(productionSecrets.UPSTREAM_API_KEY);
  });

  it("refuses the object store's development keys (s3rver's) in production", () => {
    const err = configError({ NODE_ENV: 'production', ...productionSecrets, S3_ACCESS_KEY_ID: '', S3_SECRET_ACCESS_KEY: 'S3RVER' });
    for (const name of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) expect(err.message).toContain(`${name}:`);
  });

  it('refuses the development keys of field encryption and partner userTokens in production', () => {
    const err = configError({ NODE_ENV: 'production' });
    for (const name of ['FIELD_ENCRYPTION_KEYS', 'PARTNER_USER_TOKEN_CLIENT_SECRET', 'PARTNER_ASSERTION_PRIVATE_KEY'])
      expect(err.message).toContain(`${name}:`);
  });

  it('refuses a field-encryption key ring that is malformed or lacks the active key, naming the variables', () => {
    expect(configError({ FIELD_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }).message).toMatch(/FIELD_ENCRYPTION_KEYS.*32 bytes/);
    expect(configError({ FIELD_ENCRYPTION_ACTIVE_KEY: 'nope' }).message).toMatch(/FIELD_ENCRYPTION_ACTIVE_KEY.*active key nope/);
  });

  it('never echoes a secret value in its error message', () => {
    const err = configError({ NODE_ENV: 'production', BFF_CLIENT_SECRET: 'tiny', UPSTREAM_API_KEY: 'x' });
    expect(err.message).not.toContain('tiny');
  });
});

describe('configDocs', () => {
  it('documents every variable with its default, marking the required ones', () => {
    const names = configDocs.map((d) => d.env);
    expect(new Set(names).size).toBe(names.length);
    expect(configDocs.find((d) => d.env === 'BFF_PORT')).toMatchObject({ default: '3000' });
    for (const d of configDocs) expect(d.doc.length).toBeGreaterThan(0);
  });
});
