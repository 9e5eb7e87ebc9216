import * as oidc from 'openid-client';
import { DomainError } from '../../kernel/errors.ts';
import type { TokenSet, UserTokens } from '../../ports/user-tokens.ts';

/**
 * Keycloak 26.7's refusals of a refresh token that was already used (`TokenManager.validateTokenReuse`,
 * realm `revokeRefreshToken` with `refreshTokenMaxReuse: 0`): the last one used again, or an older
 * one of the same rotation. It reaches that check only after verifying the token's signature.
 */
const REUSE_REFUSALS = ['Maximum allowed refresh token reuse exceeded', 'Stale token'];
/** Keycloak 26.7's direct-grant refusal of a right password while the account has a required action pending. */
const ACTION_REQUIRED = 'Account is not fully set up';

/**
 * UserTokens on Keycloak, through a dedicated confidential client with only the resource-owner
 * password grant enabled (realm-config/realms/platform/clients/user-api.json; why: docs/decisions/
 * 0006-user-management-api-tokens.md). Grants go through openid-client; ending a session uses
 * Keycloak's logout endpoint with the refresh token, which openid-client has no call for.
 */
export class KeycloakUserTokens implements UserTokens {
  readonly #issuer: URL;
  readonly #clientId: string;
  readonly #clientSecret: string;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(opts: { issuer: string; clientId: string; clientSecret: string }) {
    this.#issuer = new URL(opts.issuer);
    this.#clientId = opts.clientId;
    this.#clientSecret = opts.clientSecret;
  }

  async passwordGrant(login: string, password: string, otp?: string): Promise<TokenSet> {
    // `totp` is the parameter Keycloak's direct grant flow reads the code from (its conditional OTP step).
    return this.#grant((config) => oidc.genericGrantRequest(config, 'password', { username: login, password, ...(otp ? { totp: otp } : {}) }));
  }

  async refresh(refreshToken: string): Promise<TokenSet> {
    return this.#grant((config) => oidc.refreshTokenGrant(config, refreshToken));
  }

  async endSession(refreshToken: string): Promise<void> {
    const config = await this.#configuration();
    const endpoint = config.serverMetadata().end_session_endpoint;
    if (!endpoint) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Keycloak advertises no end_session_endpoint');
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: this.#clientId, client_secret: this.#clientSecret, refresh_token: refreshToken }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable while ending a session', { cause: err });
    }
    // Keycloak answers 204 also for a session that has already ended.
    if (res.ok) return;
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    if (res.status === 400 && body.error === 'invalid_grant') throw new DomainError('UNAUTHENTICATED', 'The refresh token is not valid');
    throw statusError('ending a session', res.status, body.error);
  }

  async #grant(run: (config: oidc.Configuration) => Promise<oidc.TokenEndpointResponse>): Promise<TokenSet> {
    const config = await this.#configuration();
    let tokens: oidc.TokenEndpointResponse;
    try {
      tokens = await run(config);
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError) {
        // A refresh token used before (rotation with reuse detection, decision 0006): Keycloak has
        // revoked its client's tokens of that session; the caller ends the session itself.
        if (err.error === 'invalid_grant' && REUSE_REFUSALS.includes(err.error_description ?? '')) {
          throw new DomainError('UNAUTHENTICATED', 'The refresh token was used before', { cause: err, details: { reason: 'refresh_token_reused' } });
        }
        // The password was right, but the account has a required action to do in the browser first
        // (e.g. a pending e-mail change, decision 0020): Keycloak says so only after checking the password.
        if (err.error === 'invalid_grant' && err.error_description === ACTION_REQUIRED) {
          throw new DomainError('UNAUTHENTICATED', 'The account has a step to complete in the browser first', {
            cause: err,
            details: { reason: 'account_action_required' },
          });
        }
        // Wrong password, unknown user, disabled or temporarily locked account, ended session,
        // refresh token of another client: Keycloak says invalid_grant to all, and so do we.
        if (err.error === 'invalid_grant') throw new DomainError('UNAUTHENTICATED', 'The credentials are not valid', { cause: err });
        throw statusError('a token grant', err.status, err.error);
      }
      if (err instanceof oidc.ClientError) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Unexpected token response from Keycloak', { cause: err });
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable during a token grant', { cause: err });
    }
    if (!tokens.refresh_token) throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Keycloak issued no refresh token');
    const refreshExpiresIn = (tokens as { refresh_expires_in?: unknown }).refresh_expires_in;
    return {
      accessToken: tokens.access_token,
      expiresIn: tokens.expires_in ?? 0,
      refreshToken: tokens.refresh_token,
      ...(typeof refreshExpiresIn === 'number' ? { refreshExpiresIn } : {}),
    };
  }

  /** Discovery once; a failed discovery is forgotten so the next call tries again. */
  #configuration(): Promise<oidc.Configuration> {
    this.#config ??= oidc
      .discovery(
        this.#issuer,
        this.#clientId,
        this.#clientSecret,
        undefined,
        // Plain http only for a local Keycloak (dev and tests); production issuers are https.
        this.#issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        this.#config = undefined;
        throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak discovery failed', { cause: err });
      });
    return this.#config;
  }
}

function statusError(what: string, status: number, error: string | undefined): DomainError {
  if (status >= 500) return new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unavailable during ${what}`);
  // invalid_client, unauthorized_client: the BFF's client is misconfigured, not the caller's fault.
  return new DomainError('IDENTITY_DIRECTORY_FAILED', `Keycloak refused ${what} (${error ?? `HTTP ${status}`})`);
}
