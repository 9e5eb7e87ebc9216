import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { parseE164 } from '../../accounts/identifiers.ts';
import { normaliseText, personNameProblem } from '../../accounts/person-name.ts';
import { DomainError, type ErrorCode } from '../../kernel/errors.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';

/**
 * The state portal link's JWT, checked as a careful relying party checks it (decision 0039):
 * the issuer must be one we trust (STATE_LINK_ISSUERS), the signature one of that issuer's published
 * keys (its JWKS, cached; an unknown `kid` fetches them again, so a rotation needs no restart), the
 * audience ours for that issuer, `exp` not passed, `iat` no older than the maximum age, a `jti` never
 * seen before (Redis SET NX until `exp`: one use across every BFF process), the claims the flow needs
 * present and well-formed, a `tenant` claim (when the link carries one) the issuer's own tenant.
 */
export interface StateLinkIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** The Keycloak organization of the state's people. */
  tenant: string;
  /** The state's identity provider: a custodian match is sent through it, into the claim (Flow 2). */
  identityProvider?: string | undefined;
}

/** What a link says once verified: the person as the state names them. */
export interface StateLinkClaims {
  issuer: StateLinkIssuer;
  /** The state's own id of the person (`sub`), the account's `stateUserId`. */
  stateUserId: string;
  name: string;
  /** E.164. */
  phone: string;
}

/** Why a link is refused: the refused page's message and the audit's reason (never the token). */
export type StateLinkRefusal =
  | 'malformed'
  | 'unknown-issuer'
  | 'signature'
  | 'audience'
  | 'expired'
  | 'too-old'
  | 'not-yet-valid'
  | 'claims'
  | 'tenant'
  | 'replayed'
  | 'keys-unavailable';

const STATUS_OF: Record<StateLinkRefusal, ErrorCode> = {
  malformed: 'VALIDATION_FAILED',
  'unknown-issuer': 'UNAUTHENTICATED',
  signature: 'UNAUTHENTICATED',
  audience: 'UNAUTHENTICATED',
  expired: 'UNAUTHENTICATED',
  'too-old': 'UNAUTHENTICATED',
  'not-yet-valid': 'UNAUTHENTICATED',
  claims: 'VALIDATION_FAILED',
  tenant: 'UNAUTHENTICATED',
  replayed: 'UNAUTHENTICATED',
  'keys-unavailable': 'DEPENDENCY_UNAVAILABLE',
};

export function linkRefused(reason: StateLinkRefusal): DomainError {
  return new DomainError(STATUS_OF[reason], `The state portal link is refused: ${reason}`, { details: { reason } });
}

export const refusalOf = (err: unknown): StateLinkRefusal | null =>
  err instanceof DomainError && typeof err.details.reason === 'string' && err.details.reason in STATUS_OF ? (err.details.reason as StateLinkRefusal) : null;

export interface StateLinkVerifierDeps {
  issuers: StateLinkIssuer[];
  store: EphemeralStore;
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
  jwksCacheSeconds: number;
  jwksCooldownSeconds: number;
}

/** Only asymmetric algorithms: a state cannot be made to share a secret with us, and `none`/HS* are never accepted. */
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
/** A JWT is three base64url parts; bounded so nothing large is parsed. */
const JWT_SHAPE = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,1024}$/;

export class StateLinkVerifier {
  readonly #d: StateLinkVerifierDeps;
  readonly #keys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(deps: StateLinkVerifierDeps) {
    this.#d = deps;
    for (const issuer of deps.issuers) {
      this.#keys.set(
        issuer.issuer,
        createRemoteJWKSet(new URL(issuer.jwksUrl), {
          cacheMaxAge: deps.jwksCacheSeconds * 1000,
          cooldownDuration: deps.jwksCooldownSeconds * 1000,
          timeoutDuration: 5000,
        }),
      );
    }
  }

  /** The link's claims, its `jti` spent; or a refusal (`linkRefused`), nothing spent. */
  async verify(token: unknown): Promise<StateLinkClaims> {
    if (typeof token !== 'string' || !JWT_SHAPE.test(token)) throw linkRefused('malformed');
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw linkRefused('malformed');
    }
    const issuer = this.#d.issuers.find((i) => i.issuer === unverified.iss);
    const keys = issuer ? this.#keys.get(issuer.issuer) : undefined;
    if (!issuer || !keys) throw linkRefused('unknown-issuer');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: ALGORITHMS,
        maxTokenAge: this.#d.maxAgeSeconds,
        clockTolerance: this.#d.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch (err) {
      throw linkRefused(reasonOf(err));
    }
    const claims = claimsOf(issuer, payload);
    if (payload.tenant !== undefined && payload.tenant !== issuer.tenant) throw linkRefused('tenant');
    // Spent only once everything else passed, so a forged or broken link cannot burn someone's jti.
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.max(1, (payload.exp ?? now) - now + this.#d.clockToleranceSeconds);
    const key = `state-link:jti:${createHash('sha256')
      .update(`${issuer.issuer}\u0000${String(payload.jti)}`)
      .digest('base64url')}`;
    if (!(await this.#d.store.setIfAbsent(key, '1', ttlSeconds(ttl)))) throw linkRefused('replayed');
    return claims;
  }
}

function claimsOf(issuer: StateLinkIssuer, payload: JWTPayload): StateLinkClaims {
  const sub = payload.sub;
  const name = typeof payload.name === 'string' ? normaliseText(payload.name) : null;
  const phone = typeof payload.phone_number === 'string' ? parseE164(payload.phone_number) : null;
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw linkRefused('claims');
  if (typeof sub !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(sub)) throw linkRefused('claims');
  if (name === null || personNameProblem(name) !== null || phone === null) throw linkRefused('claims');
  return { issuer, stateUserId: sub, name, phone };
}

function reasonOf(err: unknown): StateLinkRefusal {
  // maxTokenAge refuses an old `iat` as JWTExpired on `iat`; a passed `exp` is JWTExpired on `exp`.
  if (err instanceof errors.JWTExpired) return err.claim === 'iat' ? 'too-old' : 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'audience';
    if (err.claim === 'iss') return 'unknown-issuer';
    if (err.claim === 'iat') return 'not-yet-valid';
    if (err.claim === 'nbf') return 'not-yet-valid';
    return 'claims';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JOSEAlgNotAllowed)
    return 'signature';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof Error && /fetch|ECONNREFUSED|network/i.test(err.message)))
    return 'keys-unavailable';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return 'malformed';
  return 'signature';
}
