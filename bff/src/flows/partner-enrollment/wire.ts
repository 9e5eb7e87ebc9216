import type { EntityManager } from '@mikro-orm/core';
import type { Feature } from '../../http/feature.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { type FlowStore, FlowRuntime } from '../../kernel/flow/index.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { PartnerUserTokens } from '../../ports/partner-user-tokens.ts';
import { partnerEnrollmentActors, type PartnerEnrollmentEffectDeps } from './actors.ts';
import { enrollUser, type EnrollUserDeps } from './enroll-user.ts';
import { PartnerEnrollmentService } from './service.ts';
import { IdempotencyKeys } from './idempotency.ts';
import { KbaStartLimits, PgKbaStartAudit } from './kba-starts.ts';
import { partnerEnrollmentMachine } from './partner-enrollment.machine.ts';
import { partnerEnrollmentRouter, type PartnerEnrollmentRouteDeps } from './routes.ts';

export interface PartnerEnrollmentWiring {
  config: {
    clientId: string;
    otpHashKey: string;
    partnerAuthTokenTtlSeconds: number;
    partnerKbaMaxAttempts: number;
    partnerKbaStartsPerToken: number;
    partnerKbaStartsPerClientPerHour: number;
  };
  em: EntityManager;
  ephemeralStore: EphemeralStore;
  /** Where its flows live: Redis, each expiring with its authToken (the composition root names the keys). */
  ephemeralFlowStore: FlowStore;
  fieldEncryption: FieldEncryption;
  accounts: EnrollUserDeps['accounts'];
  partners: PartnerStore;
  partnerUserTokens: PartnerUserTokens;
  upstreamCore: PartnerEnrollmentEffectDeps['upstream'];
  accessTokens: PartnerEnrollmentRouteDeps['accessTokens'];
}

/** The partner API (seed 003, SPEC Flow 3): `POST /api/auth/v1` and the authToken's steps. */
export function wirePartnerEnrollment(w: PartnerEnrollmentWiring): Feature {
  const { config } = w;
  const service = new PartnerEnrollmentService({
    // A step may wait for a concurrent enrollment of the same DBP user (up to 25 s), so it may take
    // longer than the runtime's default.
    runtime: new FlowRuntime({ store: w.ephemeralFlowStore, encryption: w.fieldEncryption, settleTimeoutMs: 30_000 }),
    machine: partnerEnrollmentMachine.provide({
      actors: partnerEnrollmentActors({
        enrollUser: enrollUser({
          accounts: w.accounts,
          partners: w.partners,
          userTokens: w.partnerUserTokens,
          locks: w.ephemeralStore,
          encryption: w.fieldEncryption,
        }),
        userTokens: w.partnerUserTokens,
        upstream: w.upstreamCore,
        encryption: w.fieldEncryption,
      }),
    }),
    partners: w.partners,
    encryption: w.fieldEncryption,
    ttlSeconds: config.partnerAuthTokenTtlSeconds,
    kbaMaxAttempts: config.partnerKbaMaxAttempts,
    kbaMaxStarts: config.partnerKbaStartsPerToken,
    kbaStarts: new KbaStartLimits({
      store: w.ephemeralStore,
      audit: new PgKbaStartAudit({ em: w.em }),
      perClientPerHour: config.partnerKbaStartsPerClientPerHour,
    }),
  });
  return {
    routers: [
      partnerEnrollmentRouter({
        service,
        idempotency: new IdempotencyKeys({
          store: w.ephemeralStore,
          encryption: w.fieldEncryption,
          ttlSeconds: config.partnerAuthTokenTtlSeconds,
          hashKey: config.otpHashKey,
        }),
        accessTokens: w.accessTokens,
        audience: config.clientId,
      }),
    ],
  };
}
