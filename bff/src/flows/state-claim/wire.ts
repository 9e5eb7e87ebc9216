import type { EntityManager } from '@mikro-orm/core';
import type { Feature } from '../../http/feature.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { defineFlow, type FlowRuntime } from '../../kernel/flow/index.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { passwordFailuresPerIp, type RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { StateClaimAudit } from './audit.ts';
import { IdentifierSeal, stateClaimActors, type StateClaimEffectDeps } from './actors.ts';
import { HandoffStore } from './handoffs.ts';
import { stateClaimAssets, stateClaimRouters, type StateClaimRouteDeps } from './routes.ts';
import { StateClaimService } from './service.ts';
import { STATE_CLAIM_KIND, STATE_CLAIM_MACHINE_VERSION, stateClaimMachine } from './state-claim.machine.ts';

export interface StateClaimWiring {
  config: {
    keycloakCallbackSecret: string;
    publicUrl: string;
    clientId: string;
    defaultPhoneCountry: string;
    otpHashKey: string;
    loginFailuresPerIpPerHour: number;
    stateClaimTtlSeconds: number;
    stateClaimHandoffTtlSeconds: number;
    /** IdP alias -> Keycloak organization alias of its state tenant. */
    stateClaimTenants: Record<string, string>;
  };
  em: EntityManager;
  flowRuntime: FlowRuntime;
  fieldEncryption: FieldEncryption;
  ephemeralStore: EphemeralStore;
  limiter: RateLimiter;
  otp: StateClaimEffectDeps['otp'];
  identityDirectory: StateClaimEffectDeps['directory'] & StateClaimRouteDeps['directory'];
  /** The `user-api` client's password grant: the claimed account's password check. */
  userApiTokens: StateClaimEffectDeps['userTokens'];
  upstreamCore: StateClaimEffectDeps['upstream'];
  accounts: StateClaimEffectDeps['accounts'];
  userChangeFeed: StateClaimEffectDeps['deletedAccounts'];
  accessTokens: StateClaimRouteDeps['accessTokens'];
}

/**
 * The custodian-to-state claim (docs/decisions/0011-state-claim.md): Keycloak's internal routes, the
 * pages and their steps, the admin audit. `handoffs` is returned for the retention sweep.
 */
export function wireStateClaim(w: StateClaimWiring): Feature & { handoffs: HandoffStore } {
  const { config } = w;
  const seal = new IdentifierSeal(w.fieldEncryption);
  const audit = new StateClaimAudit({ em: w.em, hashKey: config.otpHashKey });
  const handoffs = new HandoffStore({ em: w.em, encryption: w.fieldEncryption, ttlSeconds: config.stateClaimHandoffTtlSeconds });
  const service = new StateClaimService({
    runtime: w.flowRuntime,
    flow: defineFlow({
      kind: STATE_CLAIM_KIND,
      machineVersion: STATE_CLAIM_MACHINE_VERSION,
      ttlSeconds: config.stateClaimTtlSeconds,
      machine: stateClaimMachine.provide({
        actors: stateClaimActors({
          seal,
          otp: w.otp,
          directory: w.identityDirectory,
          userTokens: w.userApiTokens,
          upstream: w.upstreamCore,
          accounts: w.accounts,
          deletedAccounts: w.userChangeFeed,
        }),
      }),
    }),
    handoffs,
    audit,
    seal,
    locks: w.ephemeralStore,
    tenants: config.stateClaimTenants,
  });
  return {
    routers: stateClaimRouters({
      service,
      audit,
      seal,
      callbackSecret: config.keycloakCallbackSecret,
      publicUrl: config.publicUrl,
      // The portal signs in (through the state, too): the fresh start from a dead claim link.
      signInUrl: new URL('/portal/', config.publicUrl).href,
      defaultPhoneCountry: config.defaultPhoneCountry,
      passwordLimits: { limiter: w.limiter, limits: [passwordFailuresPerIp(config.loginFailuresPerIpPerHour)] },
      accessTokens: w.accessTokens,
      audience: config.clientId,
      directory: w.identityDirectory,
    }),
    assets: stateClaimAssets,
    handoffs,
  };
}
