import { Agent, request } from 'undici';
import { DomainError } from '../../kernel/errors.ts';
import type { FederatedAccounts, SignInTokens } from '../../ports/federated-accounts.ts';
import { KeycloakAdminApi } from './admin-api.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface KeycloakFederatedAccountsOptions {
  keycloakUrl: string;
  realm: string;
  /** The confidential client allowed the JWT authorization grant with the Google identity providers. */
  clientId: string;
  clientSecret: string;
  /** The BFF's service account: finds and links users (view-users, manage-users). */
  serviceAccountTokens: ServiceAccountTokens;
  timeoutMs?: number;
}

/**
 * Keycloak's federated identities and its JWT authorization grant with an identity provider's own
 * token (decision 0037): Keycloak finds the identity provider by the token's `iss`, verifies the token
 * with that provider's JWKS and audience, finds the user linked to its `sub`, and issues that user's
 * access token (transient session, no refresh token) to the `google-native` client.
 */
export class KeycloakFederatedAccounts implements FederatedAccounts {
  readonly #api: KeycloakAdminApi;
  readonly #tokenEndpoint: string;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #timeoutMs: number;
  readonly #dispatcher: Agent;

  constructor(opts: KeycloakFederatedAccountsOptions) {
    this.#api = new KeycloakAdminApi({ keycloakUrl: opts.keycloakUrl, realm: opts.realm, tokens: opts.serviceAccountTokens });
    this.#tokenEndpoint = `${opts.keycloakUrl}/realms/${opts.realm}/protocol/openid-connect/token`;
    this.#clientId = opts.clientId;
    this.#clientSecret = opts.clientSecret;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#dispatcher = new Agent({ connect: { timeout: this.#timeoutMs } });
  }

  async findLinked(provider: string, subject: string): Promise<string | null> {
    const users = await this.#api.call('findLinkedUser', (a) => a.users.find({ idpAlias: provider, idpUserId: subject, max: 2, briefRepresentation: true }));
    return users[0]?.id ?? null;
  }

  async link(userId: string, link: { provider: string; subject: string; username: string }): Promise<void> {
    try {
      await this.#api.call('linkFederatedIdentity', (a) =>
        a.users.addToFederatedIdentity({
          id: userId,
          federatedIdentityId: link.provider,
          federatedIdentity: { identityProvider: link.provider, userId: link.subject, userName: link.username },
        }),
      );
    } catch (err) {
      // 409: this account is linked to the provider already, or the subject to another account.
      if (err instanceof DomainError && err.code === 'ACCOUNT_EXISTS' && (await this.findLinked(link.provider, link.subject)) === userId) return;
      throw err;
    }
  }

  async signIn(externalToken: string): Promise<SignInTokens> {
    let status: number;
    let body: Record<string, unknown>;
    try {
      const res = await request(this.#tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: JWT_BEARER,
          assertion: externalToken,
          scope: 'openid',
          client_id: this.#clientId,
          client_secret: this.#clientSecret,
        }).toString(),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        dispatcher: this.#dispatcher,
      });
      status = res.statusCode;
      body = ((await res.body.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable during the Google token grant', { cause: err });
    }
    if (status === 200 && typeof body.access_token === 'string') {
      const tokens: SignInTokens = {
        accessToken: body.access_token,
        tokenType: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
        expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 0,
      };
      if (typeof body.id_token === 'string') tokens.idToken = body.id_token;
      if (typeof body.scope === 'string') tokens.scope = body.scope;
      return tokens;
    }
    if (status >= 502) throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unavailable during the Google token grant (HTTP ${status})`);
    if (status === 400 && body.error === 'invalid_grant') {
      // Keycloak's description may name the user: only the code leaves.
      throw new DomainError('FORBIDDEN', 'Keycloak refused to sign this account in', { details: { reason: 'keycloak_refused' } });
    }
    throw new DomainError('IDENTITY_DIRECTORY_FAILED', `Keycloak refused the Google token grant (HTTP ${status} ${String(body.error ?? '')})`);
  }
}
