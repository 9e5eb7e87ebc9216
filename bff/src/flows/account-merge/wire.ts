import type { EntityManager } from '@mikro-orm/postgresql';
import type { Feature } from '../../http/feature.ts';
import { defineFlow, type FlowRuntime } from '../../kernel/flow/index.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { passwordFailuresPerIp, type RateLimiter } from '../../rate-limits/rate-limiter.ts';
import { ACCOUNT_MERGE_KIND, ACCOUNT_MERGE_MACHINE_VERSION, accountMergeMachine } from './account-merge.machine.ts';
import { accountMergeActors, type AccountMergeEffectDeps } from './actors.ts';
import { MergeAudit } from './audit.ts';
import { MergeStore } from './merges.ts';
import { accountMergeRouter, type AccountMergeRouteDeps } from './routes.ts';
import { AccountMergeService } from './service.ts';

export interface AccountMergeWiring {
  config: {
    clientId: string;
    userApiTokenClients: readonly string[];
    defaultPhoneCountry: string;
    loginFailuresPerIpPerHour: number;
    /** The state claim's lifetime serves the merge too: both are one sitting of a person. */
    stateClaimTtlSeconds: number;
  };
  /** The PostgreSQL entity manager (the reservation takes an advisory lock in SQL). */
  orm: { em: EntityManager };
  flowRuntime: FlowRuntime;
  ephemeralStore: EphemeralStore;
  limiter: RateLimiter;
  identityDirectory: AccountMergeEffectDeps['directory'];
  /** The `user-api` client's password grant: the other account's password check. */
  userApiTokens: AccountMergeEffectDeps['userTokens'];
  partners: AccountMergeEffectDeps['partners'];
  outbox: AccountMergeEffectDeps['outbox'];
  accessTokens: AccountMergeRouteDeps['accessTokens'];
}

/** Wrong passwords of merges per signed-in account per hour: each flow has 3, this bounds starting flow after flow. */
const PASSWORD_FAILURES_PER_ACCOUNT = 10;

/** The account merge (docs/decisions/0040-account-merge.md): its API for the portal; `service` for tests that drive it with other effects. */
export function wireAccountMerge(w: AccountMergeWiring): Feature & { service: AccountMergeService; audit: MergeAudit } {
  const { config } = w;
  const audit = new MergeAudit({ orm: w.orm });
  const service = new AccountMergeService({
    runtime: w.flowRuntime,
    flow: defineFlow({
      kind: ACCOUNT_MERGE_KIND,
      machineVersion: ACCOUNT_MERGE_MACHINE_VERSION,
      ttlSeconds: config.stateClaimTtlSeconds,
      machine: accountMergeMachine.provide({
        actors: accountMergeActors({
          directory: w.identityDirectory,
          userTokens: w.userApiTokens,
          partners: w.partners,
          outbox: w.outbox,
          merges: new MergeStore({ orm: w.orm }),
          audit,
          defaultPhoneCountry: config.defaultPhoneCountry,
        }),
      }),
    }),
    audit,
    locks: w.ephemeralStore,
  });
  return {
    routers: [
      accountMergeRouter({
        service,
        accessTokens: w.accessTokens,
        directory: w.identityDirectory,
        bearer: { audience: config.clientId, clients: config.userApiTokenClients },
        passwordLimits: {
          limiter: w.limiter,
          limits: [
            passwordFailuresPerIp(config.loginFailuresPerIpPerHour),
            {
              name: 'account-merge-password-account',
              per: 'identifier',
              max: PASSWORD_FAILURES_PER_ACCOUNT,
              windowSeconds: 3600,
              message: 'Too many wrong passwords for merges from this account; try again later',
            },
          ],
        },
      }),
    ],
    service,
    audit,
  };
}
