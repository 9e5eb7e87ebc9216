import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { decodeJwt } from 'jose';
import { Agent, request } from 'undici';
import { DomainError } from '../../kernel/errors.ts';
import type { PartnerUserToken, PartnerUserTokens } from '../../ports/partner-user-tokens.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';
import { KeycloakAdminApi } from './admin-api.ts';
import { attributionScope, ensureAttributionScope } from './partner-attribution-scopes.ts';

/** The issuer the `bff-assertions` identity provider trusts (realm-config/realms/platform/identity-providers). */
export const ASSERTION_ISSUER = 'https://bff.identity-platform.invalid/partner-assertions';
export const ASSERTION_IDP_ALIAS = 'bff-assertions';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Keycloak accepts at most 60 s (the IdP's max allowed assertion expiration); the assertion is used at once. */
const ASSERTION_LIFETIME_SECONDS = 30;

export interface AssertionUserTokensOptions {
  keycloakUrl: string;
  realm: string;
  /** The confidential client allowed the JWT authorization grant with `bff-assertions`. */
  clientId: string;
  clientSecret: string;
  /** P-256 private key, PKCS#8 as PEM or as base64 DER. */
  privateKey: string;
  keyId: string;
  /** The BFF's service account: links users to `bff-assertions` (manage-users). */
  serviceAccountTokens: ServiceAccountTokens;
  timeoutMs?: number;
}

/**
 * PartnerUserTokens through Keycloak's JWT Authorization Grant (RFC 7523, supported and on by default in
 * Keycloak 26.7): the BFF signs a one-time assertion `sub` = the user's id, `iss` = ASSERTION_ISSUER,
 * `aud` = the realm; Keycloak checks it with the `bff-assertions` IdP's public key, finds the user
 * through its link to that IdP, and issues an access token for the user (transient session, no
 * refresh token, the client's lifespan). The token carries only what the client's scopes give
 * (realm-config: `partner-user`, plus the partner's attribution scope requested here); one without the
 * partner in `act.client_id` is never handed out.
 */
export class AssertionUserTokens implements PartnerUserTokens {
  readonly #issuer: string;
  readonly #tokenEndpoint: string;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #keyId: string;
  readonly #key: KeyObject;
  readonly #api: KeycloakAdminApi;
  readonly #timeoutMs: number;
  /** Kept-alive connections to Keycloak; each phase (connect, headers, body) bounded by the timeout. */
  readonly #dispatcher: Agent;

  constructor(opts: AssertionUserTokensOptions) {
    this.#issuer = `${opts.keycloakUrl}/realms/${opts.realm}`;
    this.#tokenEndpoint = `${this.#issuer}/protocol/openid-connect/token`;
    this.#clientId = opts.clientId;
    this.#clientSecret = opts.clientSecret;
    this.#keyId = opts.keyId;
    this.#key = p256PrivateKey(opts.privateKey);
    this.#api = new KeycloakAdminApi({ keycloakUrl: opts.keycloakUrl, realm: opts.realm, tokens: opts.serviceAccountTokens });
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#dispatcher = new Agent({ connect: { timeout: this.#timeoutMs } });
  }

  async enable(userId: string): Promise<void> {
    try {
      await this.#api.call('linkUserTokenIdentity', (a) =>
        a.users.addToFederatedIdentity({
          id: userId,
          federatedIdentityId: ASSERTION_IDP_ALIAS,
          federatedIdentity: { identityProvider: ASSERTION_IDP_ALIAS, userId, userName: userId },
        }),
      );
    } catch (err) {
      // Linked already: the goal is reached (idempotent).
      if (err instanceof DomainError && err.code === 'ACCOUNT_EXISTS') return;
      throw err;
    }
  }

  async issue(userId: string, partnerClientId: string): Promise<PartnerUserToken> {
    const first = await this.#grant(userId, partnerClientId);
    if (first) return first;
    // The partner's first userToken (or its scope was removed): make its attribution scope, once.
    await ensureAttributionScope(this.#api, this.#clientId, partnerClientId);
    const second = await this.#grant(userId, partnerClientId);
    if (second) return second;
    throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Keycloak issued a userToken without the partner attribution');
  }

  /** One JWT authorization grant; null when the partner's attribution scope is missing or the token does not name it. */
  async #grant(userId: string, partnerClientId: string): Promise<PartnerUserToken | null> {
    const now = Math.floor(Date.now() / 1000);
    const assertion = signEs256(
      { alg: 'ES256', kid: this.#keyId, typ: 'JWT' },
      { iss: ASSERTION_ISSUER, sub: userId, aud: this.#issuer, iat: now, exp: now + ASSERTION_LIFETIME_SECONDS, jti: randomUUID() },
      this.#key,
    );
    // undici's request, not fetch: this call is on every partner GET, and fetch cost the BFF about
    // three times the CPU (bench/partner-api.ts), which the shared cores then lack for Keycloak.
    let status: number;
    let body: { access_token?: unknown; error?: unknown };
    try {
      const res = await request(this.#tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: JWT_BEARER,
          assertion,
          scope: attributionScope(partnerClientId),
          client_id: this.#clientId,
          client_secret: this.#clientSecret,
        }).toString(),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        dispatcher: this.#dispatcher,
      });
      status = res.statusCode;
      body = ((await res.body.json().catch(() => ({}))) ?? {}) as typeof body;
    } catch (err) {
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable while issuing a userToken', { cause: err });
    }
    if (status >= 200 && status < 300 && typeof body.access_token === 'string') {
      const claims = claimsOf(body.access_token);
      // The token's own expiry (Keycloak's clock), not ours plus expires_in.
      if (claims && typeof claims.exp === 'number') {
        if (claims.act?.client_id !== partnerClientId) return null;
        return { accessToken: body.access_token, expiresAt: new Date(claims.exp * 1000) };
      }
    }
    // The partner's attribution scope is not (yet) an optional scope of the client.
    if (status === 400 && body.error === 'invalid_scope') return null;
    if (status >= 502) throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unavailable while issuing a userToken (HTTP ${status})`);
    // The OAuth error code only: the description may name the user.
    throw new DomainError('IDENTITY_DIRECTORY_FAILED', `Keycloak refused the userToken grant (HTTP ${status} ${String(body.error ?? '')})`);
  }
}

function claimsOf(jwt: string): { exp?: unknown; act?: { client_id?: unknown } } | undefined {
  try {
    return decodeJwt(jwt) as { exp?: unknown; act?: { client_id?: unknown } };
  } catch {
    return undefined;
  }
}

/**
 * A compact JWS (RFC 7515) signed with ES256, synchronously with node:crypto. jose signs through
 * WebCrypto, which cost about 150 µs of CPU per assertion against 55 µs here (the signature itself is the
 * same ECDSA P-256 over SHA-256, in JOSE's r||s form); this runs on every partner GET, on cores it shares
 * with Keycloak. Verification stays with jose (tests check these assertions with it).
 */
export function signEs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const base64url = (part: Record<string, unknown>) => Buffer.from(JSON.stringify(part)).toString('base64url');

/** The assertion key; fails at start, with a clear message, on anything but a P-256 private key. */
export function p256PrivateKey(key: string): KeyObject {
  const privateKey = createPrivateKey(pkcs8Pem(key));
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('PARTNER_ASSERTION_PRIVATE_KEY must be a P-256 (ES256) private key');
  }
  return privateKey;
}

/** PKCS#8 as PEM, from PEM or from base64 DER (a single line fits an environment variable). */
export function pkcs8Pem(key: string): string {
  const trimmed = key.trim();
  if (trimmed.startsWith('-----BEGIN')) return trimmed;
  return `-----BEGIN PRIVATE KEY-----\n${trimmed.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END PRIVATE KEY-----`;
}
