import type { StateValue } from 'xstate';

/**
 * Pure helpers of the flow runtime, kept free of I/O so they are unit-tested on their own.
 */

/**
 * The tag a machine puts on every state where the flow waits for the next request (the user's answer,
 * a partner's PATCH). The runtime sends an event, then waits until the machine is in a state tagged
 * `rest` (or has stopped: done or error), and only then persists. States without the tag are
 * "in flight": an invoked effect is running and its outcome decides where the flow goes next.
 *
 * Explicit on purpose: "no invoked actor is running" would be wrong both ways (a rest state may run a
 * background effect; a state may run a long-lived callback actor and still be in flight), and a
 * forgotten tag fails loudly (the send times out in tests) instead of persisting mid-effect.
 */
export const REST_TAG = 'rest';

export interface RestCheckable {
  status: 'active' | 'done' | 'error' | 'stopped';
  hasTag(tag: string): boolean;
}

export function isAtRest(snapshot: RestCheckable): boolean {
  return snapshot.status !== 'active' || snapshot.hasTag(REST_TAG);
}

/**
 * The machine's state value as one string for the `flow.state` column:
 * `'idle'` -> `idle`; `{ claim: 'askPassword' }` -> `claim.askPassword`; parallel regions are joined
 * with `,` in declaration order: `{ a: 'x', b: { c: 'y' } }` -> `a.x,b.c.y`.
 */
export function stateValueToString(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const inner = stateValueToString(child);
    // A region whose value is an empty object (an atomic parallel child) is just its own name.
    parts.push(inner === '' ? key : inner.split(',').map((leaf) => `${key}.${leaf}`).join(','));
  }
  return parts.join(',');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Flow ids come from URLs; anything that is not a UUID is "not found", never a database error. */
export function isFlowId(value: string): boolean {
  return UUID.test(value);
}

/** `true` when the flow may no longer be used at `now` (expiry is exclusive: at `expiresAt` it is gone). */
export function isExpired(expiresAt: Date, now: Date): boolean {
  return expiresAt.getTime() <= now.getTime();
}

export function expiryFrom(now: Date, ttlSeconds: number): Date {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`flow TTL must be a positive whole number of seconds, got ${ttlSeconds}`);
  }
  return new Date(now.getTime() + ttlSeconds * 1000);
}

/**
 * Where `value` holds something that does not survive a trip through jsonb unchanged (a Date, a Map,
 * a class instance, NaN, a bigint, a function), as a path like `context.issuedAt`; `null` when it is
 * all plain JSON. Properties whose value is `undefined` are fine: they are simply absent on reload.
 * The runtime refuses to persist such a snapshot: the flow would come back subtly different.
 */
export function findNonJsonValue(value: unknown, path = '$'): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = item === undefined ? `${path}[${index}]` : findNonJsonValue(item, `${path}[${index}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return path;
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const found = findNonJsonValue(item, `${path}.${key}`);
      if (found !== null) return found;
    }
    return null;
  }
  return path; // undefined at the top, bigint, symbol, function
}
