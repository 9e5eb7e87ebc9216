import { MAX_PASSWORD_TRIES, type MergeStep } from './account-merge.machine.ts';
import type { AccountMergeView } from './service.ts';

/** The JSON of a merge (bff/openapi.yaml `AccountMerge`): what the portal shows. Identifiers masked; no subject ids. */
export interface AccountMergeJson {
  id: string;
  state: string;
  expiresAt: string;
  triesLeft: number;
  error: string | null;
  preview: {
    other: { username: string; name: string | null };
    moves: {
      identifiers: { kind: 'email' | 'phone'; masked: string; proven: boolean; action: 'move' | 'replace' }[];
      links: { provider: string }[];
      partnerMappings: { appKey: string; count: number }[];
      memberships: { tenant: string; name: string }[];
    };
    closes: {
      account: { username: string };
      identifiers: { kind: 'email' | 'phone'; masked: string }[];
      links: { provider: string }[];
      memberships: { tenant: string; name: string }[];
      leavesCustodian: boolean;
    };
  } | null;
  steps: { done: MergeStep[]; failed: MergeStep | null; failure: string | null };
}

export function mergeJson(view: AccountMergeView): AccountMergeJson {
  const c = view.snapshot.context;
  const p = c.plan;
  const name = p ? [p.other.firstName, p.other.lastName].filter(Boolean).join(' ') || null : null;
  return {
    id: view.id,
    state: view.state,
    expiresAt: view.expiresAt.toISOString(),
    triesLeft: Math.max(0, MAX_PASSWORD_TRIES - c.passwordTries),
    error: c.error,
    preview: p
      ? {
          other: { username: p.other.username, name },
          moves: {
            identifiers: p.identifiers
              .filter((i) => i.action !== 'retire')
              .map((i) => ({ kind: i.kind, masked: i.masked, proven: i.proven, action: i.action as 'move' | 'replace' })),
            links: p.links.filter((l) => l.action === 'move').map((l) => ({ provider: l.provider })),
            partnerMappings: p.partnerMappings,
            memberships: p.memberships.filter((m) => m.action === 'join').map((m) => ({ tenant: m.alias, name: m.name })),
          },
          closes: {
            account: { username: p.other.username },
            identifiers: p.identifiers.filter((i) => i.action === 'retire').map((i) => ({ kind: i.kind, masked: i.masked })),
            links: p.links.filter((l) => l.action === 'keep').map((l) => ({ provider: l.provider })),
            memberships: p.memberships.filter((m) => m.action === 'keep').map((m) => ({ tenant: m.alias, name: m.name })),
            leavesCustodian: p.leavesCustodian,
          },
        }
      : null,
    steps: { done: c.done, failed: c.failedStep, failure: c.failure },
  };
}
