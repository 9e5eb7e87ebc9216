import type { Identifier } from '../accounts/identifiers.ts';

/**
 * CONTRACT (shared by sign-up and user-management): an identifier proven by OTP. `POST /api/v1/otp`
 * sends a code, `POST /api/v1/otp/verify` exchanges the right code for a proof: short-lived,
 * single-use, bound to the identifier (and purpose) it was issued for. Implemented by `OtpService`
 * (otp-service.ts), `container.otp`. Identifiers are normalised (accounts/identifiers.ts): email
 * trimmed and lower-case, phone E.164.
 */

/**
 * `state-claim-recovery`: the claim's "Forgot password?", a code to the matched account's identifier (decision 0030).
 * `state-link`: a state portal's sign-in link, a code to the phone the link names (decision 0039).
 */
export type OtpPurpose = 'sign-up' | 'change-identifier' | 'state-claim' | 'state-claim-recovery' | 'state-link';

export interface VerificationProofs {
  /**
   * Consumes `proof` for exactly `identifier` (normalised) and `purpose`. Throws VALIDATION_FAILED
   * naming `field` (reason `proof_invalid`) when it is unknown, expired, used, or for another
   * identifier or purpose. Atomic: of concurrent callers, one succeeds.
   */
  consume(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void>;
  /**
   * The same checks without consuming: for a step that must be able to run again with the same proof
   * (sign-up checks, creates the account idempotently on a key derived from the proof, then consumes).
   */
  check(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void>;
}
