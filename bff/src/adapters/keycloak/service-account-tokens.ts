import * as oidc from 'openid-client';
import { DomainError } from '../../kernel/errors.ts';

/**
 * The BFF's own access token (client credentials of its confidential client), obtained with
 * openid-client and renewed shortly before it expires. Concurrent callers share one request.
 */
export class ServiceAccountTokens {
  readonly #issuer: URL;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #now: () => number;
  #config: oidc.Configuration | undefined;
  #token: { value: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;
  /** How many tokens were fetched (observability and tests). */
  fetched = 0;

  constructor(opts: { issuer: string; clientId: string; clientSecret: string; now?: () => number }) {
    this.#issuer = new URL(opts.issuer);
    this.#clientId = opts.clientId;
    this.#clientSecret = opts.clientSecret;
    this.#now = opts.now ?? Date.now;
  }

  async accessToken(): Promise<string> {
    // Renew 30 s early so a token never expires in flight.
    if (this.#token && this.#token.expiresAt - 30_000 > this.#now()) return this.#token.value;
    this.#pending ??= this.#fetchToken().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetchToken(): Promise<string> {
    try {
      this.#config ??= await oidc.discovery(
        this.#issuer,
        this.#clientId,
        this.#clientSecret,
        undefined,
        // Plain http only for a local Keycloak (dev and tests); production issuers are https.
        this.#issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
      const tokens = await oidc.clientCredentialsGrant(this.#config);
      this.fetched += 1;
      this.#token = { value: tokens.access_token, expiresAt: this.#now() + (tokens.expires_in ?? 60) * 1000 };
      return tokens.access_token;
    } catch (err) {
      this.#config = undefined;
      if (err instanceof oidc.ResponseBodyError || err instanceof oidc.ClientError) {
        throw new DomainError('IDENTITY_DIRECTORY_FAILED', 'Keycloak refused the BFF client credentials', { cause: err });
      }
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable while getting the BFF token', { cause: err });
    }
  }
}
