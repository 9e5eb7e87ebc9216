import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { DomainError } from '../../kernel/errors.ts';
import type { GoogleIdentity, GoogleIdTokens } from '../../ports/google-id-tokens.ts';

export interface GoogleIdTokenVerifierOptions {
  /** `https://accounts.google.com` for Google; the `google-demo` realm's issuer in dev and tests. */
  issuer: string;
  /** Google's keys (`https://www.googleapis.com/oauth2/v3/certs`), or the stand-in realm's certs. */
  jwksUrl: string;
  /** Our Google OAuth client ids: a token for anyone else's app is refused. */
  audiences: string[];
  clockToleranceSeconds?: number;
  timeoutMs?: number;
}

/**
 * Verifies Google id_tokens with jose: signature against the JWKS (fetched once, cached, fetched
 * again for an unknown `kid`, at most every 30 s), RS256 only, `iss`, `aud`, `exp`/`iat`. Messages name the
 * check, never the token.
 */
export class GoogleIdTokenVerifier implements GoogleIdTokens {
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly #issuers: string[];
  readonly #audiences: string[];
  readonly #clockTolerance: number;

  constructor(opts: GoogleIdTokenVerifierOptions) {
    this.#jwks = createRemoteJWKSet(new URL(opts.jwksUrl), { timeoutDuration: opts.timeoutMs ?? 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    // Only the issuer as configured: Keycloak's grant finds its identity provider by this exact value,
    // so a token Google wrote with the bare `accounts.google.com` would pass here and fail there.
    this.#issuers = [opts.issuer];
    this.#audiences = opts.audiences;
    this.#clockTolerance = opts.clockToleranceSeconds ?? 10;
  }

  async verify(idToken: string): Promise<GoogleIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.#jwks, {
        issuer: this.#issuers,
        audience: this.#audiences,
        algorithms: ['RS256'],
        clockTolerance: this.#clockTolerance,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw translate(err);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255 || typeof payload.exp !== 'number') {
      throw refused('claims', 'The id_token has no usable subject');
    }
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    const identity: GoogleIdentity = { subject: payload.sub, emailVerified: payload.email_verified === true, expiresAt: new Date(payload.exp * 1000) };
    const email = text(payload.email);
    const givenName = text(payload.given_name);
    const familyName = text(payload.family_name);
    const name = text(payload.name);
    if (email) identity.email = email;
    if (givenName) identity.givenName = givenName;
    if (familyName) identity.familyName = familyName;
    if (name) identity.name = name;
    return identity;
  }
}

const refused = (reason: string, message: string) => new DomainError('UNAUTHENTICATED', message, { details: { reason } });

function translate(err: unknown): DomainError {
  if (err instanceof errors.JWTExpired) return refused('expired', 'The id_token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return refused('audience', 'The id_token was not issued for this application');
    if (err.claim === 'iss') return refused('issuer', 'The id_token was not issued by Google');
    return refused('claims', `The id_token's ${err.claim} claim is not valid`);
  }
  if (err instanceof errors.JWKSTimeout || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /fetch|network/i.test(err.message))) {
    return new DomainError('DEPENDENCY_UNAVAILABLE', "Google's keys could not be fetched", { cause: err });
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed) {
    return refused('signature', "The id_token's signature is not Google's");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return refused('signature', "The id_token's algorithm is not allowed");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return refused('malformed', 'The id_token is not a signed JWT');
  }
  if (err instanceof TypeError || (err as { name?: string }).name === 'TypeError') {
    // fetch of the JWKS failed (connection refused, DNS).
    return new DomainError('DEPENDENCY_UNAVAILABLE', "Google's keys could not be fetched", { cause: err });
  }
  if (err instanceof errors.JOSEError) return refused('malformed', 'The id_token could not be verified');
  return new DomainError('DEPENDENCY_UNAVAILABLE', "Google's keys could not be fetched", { cause: err });
}
