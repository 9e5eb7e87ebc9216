import { bearerToken, type AccessTokenVerifier } from '../../adapters/keycloak/access-token-verifier.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';

/**
 * Partner server tokens: `Authorization: Bearer` access tokens of the platform realm with audience
 * `bff`, whose `azp` is the partner's client. Missing -> UNAUTHENTICATED (401); invalid, expired or
 * for another audience -> FORBIDDEN (403), as SPEC Flow 3 wants.
 *
 * A partner sends the same token with every request until it expires (5 minutes), so a verified token
 * is remembered until its `exp`: the signature check (an RSA verification) runs once per token, not per
 * request. Nothing else is cached: whether the client may use an appKey, and whether the partner is
 * enabled, is read from the store on every request.
 */
export class ServerTokens {
  readonly #verifier: AccessTokenVerifier;
  readonly #audience: string;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #verified = new Map<string, { clientId: string; expiresAt: number }>();

  constructor(deps: { verifier: AccessTokenVerifier; audience: string; maxEntries?: number; now?: () => number }) {
    this.#verifier = deps.verifier;
    this.#audience = deps.audience;
    this.#maxEntries = deps.maxEntries ?? 1_000;
    this.#now = deps.now ?? Date.now;
  }

  /** The partner client of the request's server token. */
  async clientOf(authorization: string | undefined): Promise<string> {
    const token = bearerToken(authorization);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'A server token (Authorization: Bearer) is required');
    const known = this.#verified.get(token);
    if (known && known.expiresAt > this.#now()) return known.clientId;
    if (known) this.#verified.delete(token);

    let claims;
    try {
      claims = await this.#verifier.verify(token, { audience: this.#audience });
    } catch (err) {
      if (isDomainError(err) && err.code === 'UNAUTHENTICATED') throw new DomainError('FORBIDDEN', 'The server token is not valid', { cause: err });
      throw err;
    }
    if (!claims.azp || claims.exp === undefined) throw new DomainError('FORBIDDEN', 'The server token names no client or expiry');
    // Oldest first out: a Map iterates in insertion order.
    if (this.#verified.size >= this.#maxEntries) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(token, { clientId: claims.azp, expiresAt: claims.exp * 1000 });
    return claims.azp;
  }
}
