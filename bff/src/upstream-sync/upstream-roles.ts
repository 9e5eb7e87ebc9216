import type { Membership, MembershipChange, UpstreamUserStatus } from '../ports/upstream-core.ts';

/**
 * The pure part of the upstream roles sync (decision 0033): what a member's `upstreamRoles` attribute
 * holds, and which entries of a page of the core's change feed need applying.
 */

/** The Keycloak user attribute that holds a member's upstream roles; the client scope `upstream-roles` maps it into tokens. */
export const UPSTREAM_ROLES_ATTRIBUTE = 'upstreamRoles';

/**
 * `<organisationId>:<ROLE>` for every role of every membership, sorted and unique; none unless the
 * member is active in the core (only an active member's roles are theirs to use).
 */
export function upstreamRoleValues(status: UpstreamUserStatus, memberships: readonly Pick<Membership, 'organisationId' | 'roles'>[]): string[] {
  if (status !== 'active') return [];
  const values = memberships.flatMap((m) => m.roles.map((role) => `${m.organisationId}:${role}`));
  return [...new Set(values)].sort();
}

/** Whether the attribute already holds exactly these values (order aside): then nothing is written. */
export function sameValues(current: readonly string[] | undefined, wanted: readonly string[]): boolean {
  const have = [...new Set(current ?? [])].sort();
  return have.length === wanted.length && have.every((v, i) => v === wanted[i]);
}

/**
 * The entries of a page to apply, in order: the first entry of each user. Applying reads the user's
 * current state, which already includes the later entries of the same page (they were committed before
 * the page was read), so those are done by the first. Each keeps its seq: the cursor passes it once applied.
 */
export function entriesToApply(changes: readonly MembershipChange[]): { change: MembershipChange; skip: boolean }[] {
  const seen = new Set<string>();
  return changes.map((change) => {
    const skip = seen.has(change.userId);
    seen.add(change.userId);
    return { change, skip };
  });
}
