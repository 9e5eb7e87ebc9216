import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { DomainError } from '../../kernel/errors.ts';

/** Claims of a Keycloak access token the BFF relies on. */
export interface AccessTokenClaims extends JWTPayload {
  sub?: string;
  /** The client the token was issued to. */
  azp?: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  realm_access?: { roles?: string[] };
  sid?: string;
}

/**
 * Verifies access tokens issued by the platform realm: signature against the realm's JWKS (fetched
 * and cached by jose, refreshed on an unknown key id), issuer, expiry and audience. Any failure is
 * UNAUTHENTICATED with a safe message; callers that must answer differently (the partner API answers
 * 403 for a bad server token) map it themselves.
 */
export class AccessTokenVerifier {
  readonly #issuer: string;
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(opts: { issuer: string }) {
    this.#issuer = opts.issuer;
    this.#jwks = createRemoteJWKSet(new URL(`${opts.issuer}/protocol/openid-connect/certs`), { cooldownDuration: 30_000 });
  }

  async verify(token: string, opts: { audience: string }): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify<AccessTokenClaims>(token, this.#jwks, {
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

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? '');
  return match?.[1];
}
