import type { IdentifierChangeNotices } from '../accounts/identifier-change-notices.ts';
import type { Feature } from '../http/feature.ts';
import type { Logger } from '../kernel/logger.ts';
import { type OutboxStore, registerOutboxMetrics } from './outbox-store.ts';
import { UpstreamSync, type UpstreamSyncDeps } from './upstream-sync.ts';

export interface UpstreamSyncWiring {
  config: {
    upstreamOutboxEnabled: boolean;
    upstreamOutboxIntervalMs: number;
    upstreamOutboxMaxAttempts: number;
    upstreamOutboxBaseDelayMs: number;
    upstreamOutboxMaxDelayMs: number;
  };
  userChangeFeed: UpstreamSyncDeps['feed'];
  identityDirectory: UpstreamSyncDeps['directory'];
  upstreamCore: UpstreamSyncDeps['upstream'];
  outbox: OutboxStore;
  accounts: { forgetDeleted(userId: string): Promise<void> };
  /** Previous e-mail addresses of changes made in Keycloak's pages are told (the recorder reads those events). */
  notices: Pick<IdentifierChangeNotices, 'emailChangedInKeycloak'>;
  logger: Logger;
}

/**
 * The Keycloak -> upstream core outbox (decision 0013): a background job, run when
 * UPSTREAM_OUTBOX_ENABLED, and the outbox's metrics. No routes: its admin view is admin/members.
 */
export function wireUpstreamSync(w: UpstreamSyncWiring): Feature & { sync: UpstreamSync } {
  const { config } = w;
  const sync = new UpstreamSync({
    feed: w.userChangeFeed,
    directory: w.identityDirectory,
    upstream: w.upstreamCore,
    store: w.outbox,
    forgetDeleted: (userId) => w.accounts.forgetDeleted(userId),
    emailChanged: (change) => w.notices.emailChangedInKeycloak(change),
    logger: w.logger.child({ component: 'upstream-outbox' }),
    settings: {
      intervalMs: config.upstreamOutboxIntervalMs,
      maxAttempts: config.upstreamOutboxMaxAttempts,
      baseDelayMs: config.upstreamOutboxBaseDelayMs,
      maxDelayMs: config.upstreamOutboxMaxDelayMs,
      lookBackMs: 5_000,
      batchSize: 100,
    },
  });
  return {
    routers: [],
    jobs: config.upstreamOutboxEnabled ? [sync] : [],
    registerMetrics: (registry) => registerOutboxMetrics(registry, w.outbox),
    sync,
  };
}
