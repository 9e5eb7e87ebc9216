import { Counter, Gauge, type Registry } from 'prom-client';
import type { Feature } from '../http/feature.ts';
import type { Logger } from '../kernel/logger.ts';
import type { RoleFeedCursor } from './role-feed-cursor.ts';
import { type ApplyOutcome, UpstreamRoleSync, type UpstreamRoleSyncDeps } from './role-sync.ts';

export interface UpstreamRolesWiring {
  config: { upstreamRolesEnabled: boolean; upstreamRolesPollMs: number };
  upstreamCore: UpstreamRoleSyncDeps['upstream'];
  identityDirectory: UpstreamRoleSyncDeps['directory'];
  roleFeedCursor: RoleFeedCursor;
  logger: Logger;
}

/**
 * Upstream core roles -> Keycloak (decision 0033): a background job following the core's change feed,
 * run when UPSTREAM_ROLES_ENABLED (any number of BFF processes may; one reads at a time), and its metrics.
 */
export function wireUpstreamRoles(w: UpstreamRolesWiring): Feature & { sync: UpstreamRoleSync } {
  const { config } = w;
  const sync = new UpstreamRoleSync({
    upstream: w.upstreamCore,
    directory: w.identityDirectory,
    cursor: w.roleFeedCursor,
    logger: w.logger.child({ component: 'upstream-roles' }),
    // Backoff while the core or Keycloak is down: from one interval, doubling, up to a minute.
    settings: { intervalMs: config.upstreamRolesPollMs, batchSize: 100, baseDelayMs: config.upstreamRolesPollMs, maxDelayMs: 60_000 },
  });
  return {
    routers: [],
    jobs: config.upstreamRolesEnabled ? [sync] : [],
    registerMetrics: (registry) => registerRoleSyncMetrics(registry, sync, w.roleFeedCursor),
    sync,
  };
}

/**
 * `upstream_roles_feed_position` (the last feed seq applied), `upstream_roles_caught_up_timestamp_seconds`
 * (when a pass last read the feed to its end, in any process: now minus this is the lag to alert on) and
 * `upstream_roles_applied_total{outcome}` (members applied by this process).
 */
function registerRoleSyncMetrics(registry: Registry, sync: UpstreamRoleSync, cursor: RoleFeedCursor): void {
  const state = () => cursor.state().catch(() => null);
  new Gauge({
    name: 'upstream_roles_feed_position',
    help: "Last seq of the upstream core's change feed applied to Keycloak (decision 0033)",
    registers: [registry],
    async collect() {
      const s = await state();
      if (s) this.set(s.position);
    },
  });
  new Gauge({
    name: 'upstream_roles_caught_up_timestamp_seconds',
    help: 'When a pass of the upstream roles sync last read the feed to its end (Unix time); the lag is now minus this',
    registers: [registry],
    async collect() {
      const s = await state();
      if (s?.caughtUpAt) this.set(s.caughtUpAt.getTime() / 1000);
    },
  });
  new Counter({
    name: 'upstream_roles_applied_total',
    help: 'Members whose upstream roles this process applied, by outcome (written, unchanged, unlinked, no_account, refused)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(sync.applied) as [ApplyOutcome, number][]) this.inc({ outcome }, n);
    },
  });
}
