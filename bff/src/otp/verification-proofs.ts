/**
 * CONTRACT (shared by sign-up and user-management): an identifier proven by OTP. `POST /api/v1/otp`
 * sends a code, `POST /api/v1/otp/verify` exchanges the right code for a proof: short-lived,
 * single-use, bound to the identifier (and purpose) it was issued for. Implemented in this folder.
 */
export type Identifier = { kind: 'email'; value: string } | { kind: 'phone'; value: string };

export type OtpPurpose = 'sign-up' | 'change-identifier';

export interface VerificationProofs {
  /**
   * Consumes `proof` for exactly `identifier` (normalised) and `purpose`. Throws VALIDATION_FAILED
   * naming `field` (reason `proof_invalid`) when it is unknown, expired, used, or for another
   * identifier or purpose. Atomic: of concurrent callers, one succeeds.
   */
  consume(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void>;
}
