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
    parts.push(
      inner === ''
        ? key
        : inner
            .split(',')
            .map((leaf) => `${key}.${leaf}`)
            .join(','),
    );
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
 * Where `value` holds something that does not survive a trip through JSON unchanged (a Date, a Map,
 * a class instance, NaN, a bigint, a function), as a path like `context.issuedAt`; `null` when it is
 * all plain JSON. Properties whose value is `undefined` are fine: they are simply absent on reload.
 * The runtime refuses to persist such a snapshot: the flow would come back subtly different.
 */
export function findNonJsonValue(value: unknown, path = '$'): string | null {
  const found = nonJsonAt(value);
  return found === null ? null : path + found.reverse().join('');
}

/**
 * The path to the first non-JSON value as segments, innermost first, or null. Built only on the way
 * out of a failure: this runs on every persisted snapshot (the partner POST among them), where most
 * snapshots are fine and building a path per property would cost more than the walk.
 */
function nonJsonAt(value: unknown): string[] | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : [];
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const found = item === undefined ? [] : nonJsonAt(item);
      if (found !== null) {
        found.push(`[${index}]`);
        return found;
      }
    }
    return null;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return [];
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      const found = nonJsonAt(item);
      if (found !== null) {
        found.push(`.${key}`);
        return found;
      }
    }
    return null;
  }
  return []; // undefined at the top, bigint, symbol, function
}
