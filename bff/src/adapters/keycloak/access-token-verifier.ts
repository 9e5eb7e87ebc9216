import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { DomainError } from '../../kernel/errors.ts';
import type { AccessTokenClaims, AccessTokens } from '../../ports/access-tokens.ts';

/**
 * Verifies access tokens issued by the platform realm: signature against the realm's JWKS (fetched
 * and cached by jose, refreshed on an unknown key id), issuer, expiry and audience. Any failure is
 * UNAUTHENTICATED with a safe message; the edge (bff/src/http/bearer.ts) decides what the client is
 * told (the partner API answers 403 for a bad server token).
 */
export class AccessTokenVerifier implements AccessTokens {
  readonly #issuer: string;
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(opts: { issuer: string }) {
    this.#issuer = opts.issuer;
    this.#jwks = createRemoteJWKSet(new URL(`${opts.issuer}/protocol/openid-connect/certs`), { cooldownDuration: 30_000 });
  }

  async verify(token: string, opts: { audience: string }): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify<JWTPayload & AccessTokenClaims>(token, this.#jwks, {
        issuer: this.#issuer,
        audience: opts.audience,
        algorithms: ['RS256', 'ES256', 'PS256'],
        clockTolerance: 5,
      });
      if (payload.typ !== undefined && payload.typ !== 'Bearer') throw new DomainError('UNAUTHENTICATED', 'Not an access token');
      return payload;
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) {
        throw new DomainError('UNAUTHENTICATED', 'The access token is not valid', { cause: err });
      }
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Cannot fetch the realm keys', { cause: err });
    }
  }
}
