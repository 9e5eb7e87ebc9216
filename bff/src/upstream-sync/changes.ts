import type { DirectoryUser } from '../ports/identity-directory.ts';
import type { ProfileChanges } from '../ports/upstream-core.ts';
import type { UserEvent } from '../ports/user-change-feed.ts';

export type { UserEvent };

/**
 * The pure part of the upstream outbox: which changes a Keycloak event turns into, in which order
 * events are handled, and how long a failed delivery waits. No I/O here (unit-tested).
 */

/** What the upstream core holds of a linked member, as Keycloak has it. */
export interface MemberSnapshot {
  firstName: string;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  enabled: boolean;
}

/** A Keycloak account as the upstream core holds it. */
export function snapshotOf(u: DirectoryUser): MemberSnapshot {
  return {
    firstName: u.firstName ?? u.username,
    lastName: u.lastName ?? null,
    email: u.email ?? null,
    phone: u.attributes.phone?.[0] ?? null,
    enabled: u.enabled,
  };
}

/** An admin's resync: everything the core holds of the member, whatever was recorded before. */
export function resyncChanges(current: MemberSnapshot): OutboxChange[] {
  const { enabled, ...profile } = current;
  return [
    { kind: 'profile', changes: profile },
    { kind: 'status', active: enabled },
  ];
}

export type OutboxChange = { kind: 'profile'; changes: ProfileChanges } | { kind: 'status'; active: boolean } | { kind: 'delete' };

/**
 * The changes from `previous` (the last state recorded) to `current`. First sight of a member
 * (no previous): the whole profile, and the status only when it is not the core's default (active).
 * Profile before status, so a disabled member's last profile still arrives.
 */
export function diffSnapshots(previous: MemberSnapshot | null, current: MemberSnapshot): OutboxChange[] {
  const changes: ProfileChanges = {};
  for (const field of ['firstName', 'lastName', 'email', 'phone'] as const) {
    if (previous === null || previous[field] !== current[field]) Object.assign(changes, { [field]: current[field] });
  }
  const out: OutboxChange[] = [];
  if (Object.keys(changes).length > 0) out.push({ kind: 'profile', changes });
  if ((previous?.enabled ?? true) !== current.enabled) out.push({ kind: 'status', active: current.enabled });
  return out;
}

/** Both feeds merged into the order things happened (time, then id for a stable tie-break). */
export function mergeEvents(...feeds: UserEvent[][]): UserEvent[] {
  return feeds.flat().sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A feed page read from `position - lookBackMs` (events committed late carry an earlier time) split
 * into the events not handled yet and the cursor after them: the newest time read, and the ids of
 * the events inside the new look-back window, so the next page skips them.
 */
export function advanceCursor(
  cursor: { position: number; seen: [string, number][] },
  events: UserEvent[],
  lastTime: number | null,
  lookBackMs: number,
): { fresh: UserEvent[]; next: { position: number; seen: [string, number][] } } {
  const seen = new Set(cursor.seen.map(([id]) => id));
  const fresh = events.filter((e) => !seen.has(e.id));
  const position = Math.max(cursor.position, lastTime ?? cursor.position);
  const window = [...cursor.seen, ...fresh.map((e): [string, number] => [e.id, e.time])].filter(([, time]) => time >= position - lookBackMs);
  return { fresh, next: { position, seen: window } };
}

export interface BackoffSettings {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before attempt `attempt + 1` after `attempt` failed: exponential, capped, with "equal jitter"
 * (half fixed, half random) so that many rows failing together do not retry in lockstep.
 */
export function retryDelayMs(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
